import { type CacheScope, invalidate } from "../cache";
import { errorMessage } from "../platform/error-message";
import { logger } from "../platform/logger";
import { publishSeatChanges, type SeatChange } from "./live";
import { kickOutboxRelay } from "./relay";

export type { SeatChange } from "./live";

export interface AfterCommit {
  /** Cached views the change made stale; dropped before the caller answers (read-after-write). */
  invalidate?: CacheScope[];
  /** The transaction wrote outbox rows: publish them now rather than at the next relay pass. */
  outbox?: boolean;
  /** Seats whose status the transaction changed: published to live subscribers (not awaited). */
  seats?: SeatChange[];
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
  // After the caches are dropped (a subscriber who then reads the API sees the change too), and
  // fire-and-forget: the answer never waits for subscribers; a lost publish is repaired by the
  // subscribers' reconcile against PostgreSQL.
  if (work.seats && work.seats.length > 0) publishSeatChanges(work.seats);
  if (work.outbox) kickOutboxRelay();
}
