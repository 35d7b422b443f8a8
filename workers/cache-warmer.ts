import { config } from "../src/config";
import { type EventChangedPayload, Streams } from "../src/messaging/catalog";
import { type StreamEntry, startConsumer } from "../src/messaging/consumer";
import { startPeriodic } from "../src/messaging/periodic";
import { runWorker } from "../src/messaging/worker-runner";
import { warmEventDocument, warmHotEvents } from "../src/modules/events/events.service";
import type { Logger } from "../src/platform/logger";

/**
 * cache-warmer: after each `event.changed` it rebuilds that event's cached document (the API has
 * already invalidated it), and every CACHE_WARM_INTERVAL_MS it rebuilds the documents of upcoming
 * and hot events, so first readers hit a warm cache. Rebuilding is idempotent; a rebuild that
 * races a newer invalidation is stored under the old version and never served.
 */
export async function onEventChanged(entry: StreamEntry<EventChangedPayload>, log: Logger): Promise<void> {
  const { event_id, change } = entry.payload;
  if (change === "deleted") return;
  await warmEventDocument(event_id);
  log.info({ event_id, change }, "event document warmed");
}

export async function warmSchedule(log: Logger): Promise<void> {
  const warmed = await warmHotEvents();
  log.debug({ warmed }, "hot and upcoming events warmed");
}

if (import.meta.main) {
  await runWorker("cache-warmer", () => [
    startConsumer({ stream: Streams.eventChanged, group: "cache-warmer", handler: onEventChanged }),
    startPeriodic({ name: "warm-hot-events", everyMs: config.CACHE_WARM_INTERVAL_MS, run: warmSchedule }),
  ]);
}
