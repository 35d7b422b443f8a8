import { Streams } from "../src/messaging/catalog";
import { startConsumer } from "../src/messaging/consumer";
import { runWorker } from "../src/messaging/worker-runner";
import { onSeatReleased } from "../src/modules/waitlist/waitlist.jobs";

/** waitlist-promoter: each `seat.released` entry offers that seat to the head of its event's line. */
await runWorker("waitlist-promoter", () => [
  startConsumer({ stream: Streams.seatReleased, group: "waitlist-promoter", handler: onSeatReleased }),
]);
