import { config } from "../src/config";
import { Streams } from "../src/messaging/catalog";
import { startConsumer } from "../src/messaging/consumer";
import { startPeriodic } from "../src/messaging/periodic";
import { runWorker } from "../src/messaging/worker-runner";
import { onEventChanged, warmSchedule } from "../src/modules/events/events.jobs";

/**
 * cache-warmer: after each `event.changed` it rebuilds that event's cached document, and every
 * CACHE_WARM_INTERVAL_MS those of upcoming and hot events, so first readers hit a warm cache.
 */
await runWorker("cache-warmer", () => [
  startConsumer({ stream: Streams.eventChanged, group: "cache-warmer", handler: onEventChanged }),
  startPeriodic({ name: "warm-hot-events", everyMs: config.CACHE_WARM_INTERVAL_MS, run: warmSchedule }),
]);
