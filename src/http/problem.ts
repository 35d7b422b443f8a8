import { STATUS_CODES } from "node:http";
import { type DomainError, ErrorCode, type FieldError } from "../domain/errors";

/** The one table from error code to HTTP status. A code missing here is a compile error. */
export const STATUS_OF: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 422,
  TOO_MANY_SEATS: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  MALFORMED_JSON: 400,
  BAD_REQUEST: 400,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  EVENT_NOT_FOUND: 404,
  SEAT_NOT_FOUND: 404,
  BOOKING_NOT_FOUND: 404,
  NOT_ON_WAITLIST: 404,
  METHOD_NOT_ALLOWED: 405,
  UNAUTHORIZED: 401,
  INVALID_CREDENTIALS: 401,
  FORBIDDEN: 403,
  WRONG_PASSWORD: 403,
  EMAIL_TAKEN: 409,
  EVENT_EXISTS: 409,
  EVENT_STARTED: 409,
  CAPACITY_SHRINK_CONFLICT: 409,
  SEAT_ALREADY_BOOKED: 409,
  SEAT_HELD: 409,
  NOT_ENOUGH_SEATS: 409,
  USER_SEAT_LIMIT: 409,
  BOOKING_ALREADY_CANCELLED: 409,
  SEATS_AVAILABLE: 409,
  ALREADY_BOOKED_EVENT: 409,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
  WEBHOOK_NOT_FOUND: 404,
  WEBHOOK_DELIVERY_NOT_FOUND: 404,
  WEBHOOK_URL_REFUSED: 422,
  WEBHOOK_DISABLED: 409,
  HOLD_NOT_FOUND: 404,
  HOLD_EXPIRED: 409,
  HOLD_EXTENSION_LIMIT: 409,
  HOLD_LIMIT: 409,
  HOLD_NOT_ACTIVE: 409,
  OFFER_NOT_FOUND: 404,
  OFFER_EXPIRED: 409,
  OFFER_ANSWERED: 409,
};

export const statusOf = (code: ErrorCode): number => STATUS_OF[code];

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: FieldError[];
  request_id?: string;
}

export function toProblem(err: DomainError, requestId?: string): Problem {
  const status = statusOf(err.code);
  return {
    type: `https://evently.dev/problems/${err.code.toLowerCase().replaceAll("_", "-")}`,
    title: STATUS_CODES[status] ?? "Error",
    status,
    detail: err.detail,
    code: err.code,
    ...(err.errors ? { errors: err.errors } : {}),
    ...(requestId ? { request_id: requestId } : {}),
  };
}

/** Headers that follow from the error itself; `extra` adds transport headers (Allow, X-RateLimit-*). */
function headersOf(err: DomainError, requestId: string | undefined, extra?: Record<string, string>): Headers {
  const headers = new Headers(extra);
  headers.set("content-type", "application/problem+json");
  if (requestId) headers.set("x-request-id", requestId);
  if (err.retryAfterSeconds !== undefined) headers.set("retry-after", String(err.retryAfterSeconds));
  if (err.code === ErrorCode.UNAUTHORIZED || err.code === ErrorCode.INVALID_CREDENTIALS) {
    headers.set("www-authenticate", "Bearer");
  }
  if (err.replayed) headers.set("idempotent-replayed", "true");
  return headers;
}

export function problemResponse(err: DomainError, requestId?: string, extraHeaders?: Record<string, string>): Response {
  return new Response(JSON.stringify(toProblem(err, requestId)), {
    status: statusOf(err.code),
    headers: headersOf(err, requestId, extraHeaders),
  });
}

/** Thrown by HTTP middleware that must add transport headers to its problem (Allow, X-RateLimit-*). */
export class ProblemWithHeaders extends Error {
  constructor(
    readonly error: DomainError,
    readonly headers: Record<string, string>,
  ) {
    super(error.detail);
    this.name = "ProblemWithHeaders";
  }
}
