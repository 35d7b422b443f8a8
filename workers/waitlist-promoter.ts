import { type SeatReleasedPayload, Streams } from "../src/messaging/catalog";
import { type StreamEntry, startConsumer } from "../src/messaging/consumer";
import { runWorker } from "../src/messaging/worker-runner";
import { promoteNextInLine } from "../src/modules/waitlist/waitlist.offers";
import type { Logger } from "../src/platform/logger";

/**
 * waitlist-promoter: each `seat.released` entry offers that seat to the head of its event's
 * line. promoteNextInLine is idempotent (a redelivered entry finds the seat no longer
 * AVAILABLE), so at-least-once delivery and XAUTOCLAIM takeover never double an offer.
 */
export async function onSeatReleased(entry: StreamEntry<SeatReleasedPayload>, log: Logger): Promise<void> {
  const { event_id, seat_id } = entry.payload;
  const result = await promoteNextInLine(event_id, seat_id);
  log.info({ event_id, seat_id, reason: entry.payload.reason, ...result }, "seat release handled");
}

if (import.meta.main) {
  await runWorker("waitlist-promoter", () => [
    startConsumer({ stream: Streams.seatReleased, group: "waitlist-promoter", handler: onSeatReleased }),
  ]);
}
