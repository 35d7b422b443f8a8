import { ZodError } from "zod";
import { DomainError, isTransient } from "../domain/errors";

/**
 * How a stream handler's failure is treated. Retryable: the entry is delivered again later (up
 * to the retry cap). Permanent: trying again cannot help (bad data, a 4xx answer), so the entry
 * goes to the dead-letter stream at once instead of burning retries.
 */
export type FailureKind = "retryable" | "permanent";

/** Throw from a handler when the same entry can never succeed. */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PermanentError";
  }
}

/** Throw from a handler to ask for another attempt explicitly (the default for unknown errors). */
export class RetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RetryableError";
  }
}

export function classifyFailure(err: unknown): FailureKind {
  if (err instanceof PermanentError) return "permanent";
  if (err instanceof RetryableError) return "retryable";
  // Services throw DomainError: its code says whether it is a verdict on the input (unknown event,
  // seat taken…) or a passing condition (a dependency down, a throttle).
  if (err instanceof DomainError) return isTransient(err.code) ? "retryable" : "permanent";
  // A payload that does not parse or validate will not parse on the next delivery either.
  if (err instanceof ZodError || err instanceof SyntaxError) return "permanent";
  // Network errors, timeouts, PostgreSQL and Redis hiccups: worth another try.
  return "retryable";
}
