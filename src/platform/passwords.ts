import { config } from "../config";
import { DomainError, ErrorCode } from "../domain/errors";
import { passwordJobs } from "./metrics";

const BCRYPT = { algorithm: "bcrypt" as const, cost: config.BCRYPT_COST };

// Compared against when the e-mail is unknown, so both failures cost one bcrypt check.
const DUMMY_HASH = Bun.password.hashSync("not-a-real-password-0000", BCRYPT);

interface Job {
  work: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * Password hashing, one hash at a time per process, with a bounded wait. Bun.password runs
 * bcrypt on a thread of its own, so the event loop keeps serving bookings and reads meanwhile;
 * one at a time keeps it to one core, leaving the other to the API. Beyond `max` waiting hashes
 * the answer is a fast 503 with Retry-After (a flood cannot queue minutes of work); a waiting
 * hash whose client has disconnected is dropped before it runs.
 */
export class PasswordQueue {
  private running = false;
  private readonly waiting: Job[] = [];
  // Recent hash duration, for Retry-After: starts at a cost-10 guess and follows what it sees.
  private averageMs = 80;

  constructor(private readonly max: number) {}

  /** Throws the 503 the queue would give now: lets a caller refuse before doing other work. */
  assertRoom(): void {
    if (this.waiting.length >= this.max) throw this.busy();
  }

  run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(this.abandoned());
    if (this.waiting.length >= this.max) {
      passwordJobs.inc({ outcome: "refused" });
      return Promise.reject(this.busy());
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = { work, resolve: resolve as (v: unknown) => void, reject, signal };
      if (signal) {
        job.onAbort = () => {
          const i = this.waiting.indexOf(job);
          if (i < 0) return; // already running: a hash cannot be stopped half-way
          this.waiting.splice(i, 1);
          passwordJobs.inc({ outcome: "abandoned" });
          reject(this.abandoned());
        };
        signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.waiting.push(job);
      this.next();
    });
  }

  private next(): void {
    if (this.running) return;
    const job = this.waiting.shift();
    if (!job) return;
    if (job.onAbort) job.signal?.removeEventListener("abort", job.onAbort);
    this.running = true;
    const started = performance.now();
    job
      .work()
      .then(job.resolve, job.reject)
      .finally(() => {
        this.averageMs = 0.8 * this.averageMs + 0.2 * (performance.now() - started);
        passwordJobs.inc({ outcome: "done" });
        this.running = false;
        this.next();
      });
  }

  private busy(): DomainError {
    const seconds = Math.max(1, Math.ceil(((this.waiting.length + 1) * this.averageMs) / 1000));
    return new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "Too many password checks in progress; try again shortly.", {
      retryAfterSeconds: seconds,
    });
  }

  /** Nobody will read the answer; a 503 keeps it out of the 500s. */
  private abandoned(): DomainError {
    return new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "The client went away before its password was checked.", {
      retryAfterSeconds: 1,
    });
  }
}

const queue = new PasswordQueue(config.PASSWORD_QUEUE_MAX);

/** 503 now if the password queue is full: call before work that only matters if a hash follows. */
export function assertPasswordCapacity(): void {
  queue.assertRoom();
}

export function hashPassword(password: string, signal?: AbortSignal): Promise<string> {
  return queue.run(() => Bun.password.hash(password, BCRYPT), signal);
}

/** bcrypt only reads 72 bytes; no stored password is longer (see PasswordSchema). */
export const MAX_PASSWORD_BYTES = 72;

/**
 * A candidate over 72 bytes is wrong by definition. Without this check bcrypt would ignore its
 * tail, so "<the real password>anything" would log in. It still pays one compare, so the
 * answer takes as long as any other wrong password.
 */
export async function verifyPassword(password: string, hash: string | undefined, signal?: AbortSignal) {
  const fits = Buffer.byteLength(password, "utf8") <= MAX_PASSWORD_BYTES;
  const ok = await queue.run(() => Bun.password.verify(password, hash ?? DUMMY_HASH, "bcrypt"), signal);
  return ok && fits && hash !== undefined;
}
