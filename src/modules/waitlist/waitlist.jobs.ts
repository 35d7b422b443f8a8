import type { SeatReleasedPayload } from "../../messaging/catalog";
import type { StreamEntry } from "../../messaging/consumer";
import type { Logger } from "../../platform/logger";
import { expireOffers, promoteNextInLine } from "./waitlist.offers";
import { dropStartedWaitlists } from "./waitlist.service";

/**
 * What the waitlist workers run (workers/waitlist-promoter.ts, workers/waitlist-janitor.ts): the
 * stream handler and periodic jobs, each a thin turn from the worker's call into the waitlist
 * rules. All are safe with several replicas at once.
 */

/**
 * Each `seat.released` offers that seat to the head of its event's line. promoteNextInLine is
 * idempotent (a redelivered entry finds the seat no longer AVAILABLE), so at-least-once delivery
 * and XAUTOCLAIM takeover never double an offer.
 */
export async function onSeatReleased(entry: StreamEntry<SeatReleasedPayload>, log: Logger): Promise<void> {
  const { event_id, seat_id } = entry.payload;
  const result = await promoteNextInLine(event_id, seat_id);
  log.info({ event_id, seat_id, reason: entry.payload.reason, ...result }, "seat release handled");
}

/**
 * Releases offers nobody took in time. Each release goes back through the outbox, so the promoter
 * offers the seat to the next person or it stays AVAILABLE. Expiry claims seats FOR UPDATE SKIP
 * LOCKED, so replicas share the work.
 */
export async function expireDueOffers(log: Logger): Promise<void> {
  let total = 0;
  for (let released = await expireOffers(); released > 0; released = await expireOffers()) total += released;
  if (total > 0) log.info({ released: total }, "expired waitlist offers released");
}

/** Drops the lines of events that have started (idempotent). */
export async function dropOldLines(log: Logger): Promise<void> {
  const dropped = await dropStartedWaitlists();
  if (dropped > 0) log.debug({ events: dropped }, "waitlists of started events dropped");
}
