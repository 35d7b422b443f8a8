import type { SeatReleasedPayload } from "../../messaging/catalog";
import type { StreamEntry } from "../../messaging/consumer";
import type { Logger } from "../../platform/logger";
import { promoteNextInLine } from "./waitlist.offers";

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
