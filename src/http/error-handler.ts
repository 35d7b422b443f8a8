import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { DomainError, ErrorCode, pgErrorCode } from "../domain/errors";
import { logger } from "../platform/logger";
import { ProblemWithHeaders, problemResponse, statusOf } from "./problem";
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

const HTTP_EXCEPTION_CODES: Record<number, [ErrorCode, string]> = {
  400: [ErrorCode.MALFORMED_JSON, "The request body could not be parsed."],
  401: [ErrorCode.UNAUTHORIZED, "Not authenticated."],
  413: [ErrorCode.BODY_TOO_LARGE, "The request body is larger than 1 MiB."],
  415: [ErrorCode.UNSUPPORTED_MEDIA_TYPE, "This Content-Type is not accepted here."],
};

/** What an error thrown anywhere means to a client, if it is one we can name. */
export function toDomainError(err: unknown): DomainError | undefined {
  if (err instanceof DomainError) return err;
  if (err instanceof HTTPException) {
    if (err.status >= 500) return undefined;
    const [code, detail] = HTTP_EXCEPTION_CODES[err.status] ?? [
      ErrorCode.BAD_REQUEST,
      "The request could not be processed.",
    ];
    return new DomainError(code, detail);
  }
  const code = pgErrorCode(err);
  if (code && UNAVAILABLE_PG_CODES.has(code)) {
    return new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "The database is unavailable; try again shortly.", {
      retryAfterSeconds: 2,
    });
  }
  return undefined;
}

/** The one place errors become responses. Unknown errors are logged with their stack, never sent. */
export function handleError(err: Error, c: Context<AppEnv>): Response {
  const requestId = c.get("requestId");
  if (err instanceof ProblemWithHeaders) return problemResponse(err.error, requestId, err.headers);
  const known = toDomainError(err);
  if (known) {
    if (statusOf(known.code) >= 500) logger.warn({ request_id: requestId, err: err.message }, "dependency failure");
    return problemResponse(known, requestId);
  }
  logger.error({ request_id: requestId, err }, "unhandled error");
  return problemResponse(
    new DomainError(
      ErrorCode.INTERNAL_ERROR,
      "Something went wrong on our side. Quote the request id if you report it.",
    ),
    requestId,
  );
}
