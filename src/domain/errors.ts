import { STATUS_CODES } from "node:http";
import { ErrorCode } from "./error-codes";

export { ErrorCode };

export interface FieldError {
  field: string;
  message: string;
}

/** The one error type services throw; `app.onError` renders it as RFC 9457 problem+json. */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.name = "AppError";
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  request_id?: string;
}

export function toProblem(err: AppError, requestId?: string): Problem {
  return {
    type: `https://evently.dev/problems/${err.code.toLowerCase().replaceAll("_", "-")}`,
    title: STATUS_CODES[err.status] ?? "Error",
    status: err.status,
    detail: err.detail,
    code: err.code,
    ...(err.errors ? { errors: err.errors } : {}),
    ...(requestId ? { request_id: requestId } : {}),
  };
}

export function problemResponse(err: AppError, requestId?: string): Response {
  const headers = new Headers(err.headers);
  headers.set("content-type", "application/problem+json");
  if (requestId) headers.set("x-request-id", requestId);
  return new Response(JSON.stringify(toProblem(err, requestId)), { status: err.status, headers });
}

export const notFound = (code: ErrorCode, detail: string) => new AppError(404, code, detail);
export const conflict = (code: ErrorCode, detail: string) => new AppError(409, code, detail);
export const forbidden = (detail = "You are not allowed to do this.") => new AppError(403, ErrorCode.FORBIDDEN, detail);
export const unauthorized = (detail = "Not authenticated.") =>
  new AppError(401, ErrorCode.UNAUTHORIZED, detail, undefined, { "www-authenticate": "Bearer" });

/** PostgreSQL error codes we translate; everything else is a 500. */
export function pgErrorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  if (typeof e?.code === "string") return e.code;
  if (typeof e?.cause?.code === "string") return e.cause.code;
  return undefined;
}
