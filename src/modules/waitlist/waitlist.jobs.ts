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
 * Each `seat.released` serves its event's line with the free seats (docs/waitlist.md).
 * promoteNextInLine is idempotent (a redelivered entry finds nothing free, and at most one live
 * offer per user per event is enforced by PostgreSQL), so at-least-once delivery and XAUTOCLAIM
 * takeover never double an offer.
 */
export async function onSeatReleased(entry: StreamEntry<SeatReleasedPayload>, log: Logger): Promise<void> {
  const { event_id, seat_id } = entry.payload;
  const result = await promoteNextInLine(event_id, seat_id);
  const { seats, ...outcome } = "seats" in result ? result : { ...result, seats: [] };
  log.info(
    { event_id, seat_id, reason: entry.payload.reason, ...outcome, seats_changed: seats.length },
    "seat release handled",
  );
}

/**
 * Ends offers nobody answered in time and hands their seats to the next in line in the same
 * transaction (docs/waitlist.md); seats nobody in line can take go back through the outbox.
 * Each offer is taken under its users' locks and its row lock, so replicas never end one twice.
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
