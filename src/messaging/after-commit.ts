import { type CacheScope, invalidate } from "../cache";
import { errorMessage } from "../platform/error-message";
import { logger } from "../platform/logger";
import { kickOutboxRelay } from "./relay";

export interface AfterCommit {
  /** Cached views the change made stale; dropped before the caller answers (read-after-write). */
  invalidate?: CacheScope[];
  /** The transaction wrote outbox rows: publish them now rather than at the next relay pass. */
  outbox?: boolean;
}

/**
 * What every write does once its transaction has committed. It never throws: the change stands,
 * so a failure here is logged and left to the safety nets (version TTLs, the relay loop), never
 * turned into an error answer for a change that was made.
 */
export async function afterCommit(work: AfterCommit): Promise<void> {
  if (work.invalidate && work.invalidate.length > 0) {
    await invalidate(...work.invalidate).catch((err) =>
      logger.warn({ err: errorMessage(err) }, "cache invalidation after commit failed"),
    );
  }
  if (work.outbox) kickOutboxRelay();
}
