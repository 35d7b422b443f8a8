import { errorMessage } from "../platform/error-message";
import { logger } from "../platform/logger";
import { redis } from "../platform/redis";
import { RetryableError } from "./handler-errors";

export interface OnceOptions {
  /** How long a claim lasts if its holder dies mid-way; longer than the work can take. */
  lockMs?: number;
  /** How long "done" is remembered; longer than any redelivery can arrive. */
  doneTtlMs?: number;
}

const DONE = "done";

/**
 * Runs `work` at most once per key across every consumer and redelivery (delivery is
 * at-least-once). The key is claimed with SET NX before the work and marked done after it:
 * - already done → returns "duplicate" without running `work`;
 * - claimed by someone else right now → RetryableError (the entry comes back later);
 * - `work` fails → the claim is dropped so a retry can run it again.
 * A process killed mid-way leaves a claim that expires after `lockMs`; then the work runs again,
 * so the guarantee is "once unless a crash hits between the side effect and the mark".
 */
export async function runOnce(
  key: string,
  work: () => Promise<void>,
  opts: OnceOptions = {},
): Promise<"done" | "duplicate"> {
  const lockMs = opts.lockMs ?? 20_000;
  const doneTtlMs = opts.doneTtlMs ?? 7 * 24 * 3_600_000;
  const claimed = await redis.set(key, "running", "PX", lockMs, "NX");
  if (claimed !== "OK") {
    if ((await redis.get(key)) === DONE) return "duplicate";
    throw new RetryableError(`work for ${key} is already in progress`);
  }
  try {
    await work();
  } catch (err) {
    await redis.del(key).catch(() => 0);
    throw err;
  }
  // The work happened: failing to record it must not fail the entry (a retry would repeat it).
  await redis.set(key, DONE, "PX", doneTtlMs).catch((err) => {
    logger.warn({ key, err: errorMessage(err) }, "could not mark work done; a redelivery may repeat it");
  });
  return "done";
}
