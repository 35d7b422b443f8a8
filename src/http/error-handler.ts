import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { AppError, ErrorCode, pgErrorCode, problemResponse } from "../domain/errors";
import { logger } from "../platform/logger";
import type { AppEnv } from "./router";

// Connection-level failures (server down, pool timeout, admin shutdown), timeouts, and deadlock or
// serialization failures (none expected, but transient if they happen) mean "try again shortly".
const UNAVAILABLE_PG_CODES = new Set([
  "ECONNREFUSED",
  "CONNECT_TIMEOUT",
  "ECONNRESET",
  "57P01",
  "57P03",
  "53300",
  "57014",
  "55P03",
  "40P01",
  "40001",
]);

export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException) {
    if (err.status === 413)
      return new AppError(413, ErrorCode.BODY_TOO_LARGE, "The request body is larger than 1 MiB.");
    if (err.status === 400) return new AppError(400, ErrorCode.MALFORMED_JSON, "The request body could not be parsed.");
    if (err.status === 415) {
      return new AppError(415, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "This Content-Type is not accepted here.");
    }
    if (err.status === 401) return new AppError(401, ErrorCode.UNAUTHORIZED, "Not authenticated.");
    if (err.status < 500) return new AppError(err.status, ErrorCode.BAD_REQUEST, "The request could not be processed.");
    return undefined;
  }
  const code = pgErrorCode(err);
  if (code && UNAVAILABLE_PG_CODES.has(code)) {
    return new AppError(
      503,
      ErrorCode.SERVICE_UNAVAILABLE,
      "The database is unavailable; try again shortly.",
      undefined,
      {
        "retry-after": "2",
      },
    );
  }
  return undefined;
}

/** The one place errors become responses. Unknown errors are logged with their stack, never sent. */
export function handleError(err: Error, c: Context<AppEnv>): Response {
  const requestId = c.get("requestId");
  const known = toAppError(err);
  if (known) {
    if (known.status >= 500) logger.warn({ request_id: requestId, err: err.message }, "dependency failure");
    return problemResponse(known, requestId);
  }
  logger.error({ request_id: requestId, err }, "unhandled error");
  return problemResponse(
    new AppError(
      500,
      ErrorCode.INTERNAL_ERROR,
      "Something went wrong on our side. Quote the request id if you report it.",
    ),
    requestId,
  );
}
