import { ErrorCode } from "./error-codes";

export { ErrorCode };

export interface FieldError {
  field: string;
  message: string;
}

export interface DomainErrorDetails {
  /** Field-level problems of a validation failure. */
  errors?: FieldError[];
  /** When trying again can succeed, after how long (rendered as Retry-After by HTTP). */
  retryAfterSeconds?: number;
  /** An answer replayed from an earlier request with the same Idempotency-Key. */
  replayed?: boolean;
}

/**
 * The one error type the core throws. It says what went wrong (a stable code and a sentence),
 * never how to transport it: src/http/problem.ts maps each code to an HTTP status and headers, and
 * workers decide retry or give-up from the code (isTransient).
 */
export class DomainError extends Error {
  readonly errors?: FieldError[];
  readonly retryAfterSeconds?: number;
  readonly replayed?: boolean;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    details: DomainErrorDetails = {},
  ) {
    super(detail);
    this.name = "DomainError";
    this.errors = details.errors;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.replayed = details.replayed;
  }
}

/** Codes that describe a passing condition (a dependency down, a throttle), not a verdict on the input. */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.SERVICE_UNAVAILABLE,
  ErrorCode.RATE_LIMITED,
  ErrorCode.INTERNAL_ERROR,
]);

export function isTransient(code: ErrorCode): boolean {
  return TRANSIENT.has(code);
}

/** PostgreSQL error codes we translate; everything else is a 500. */
export function pgErrorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  if (typeof e?.code === "string") return e.code;
  if (typeof e?.cause?.code === "string") return e.cause.code;
  return undefined;
}
