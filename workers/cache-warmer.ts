import type { Logger } from "../src/infra/logger";
import { type EventChangedPayload, Streams } from "../src/lib/outbox";
import { type StreamEntry, startConsumer } from "./lib/consumer";
import { runWorker } from "./lib/run-worker";

/**
 * cache-warmer: consumes `event.changed`. A stub until the caching issue lands: it only logs,
 * but it already keeps its consumer group current, so no backlog builds up meanwhile.
 */
export async function onEventChanged(entry: StreamEntry<EventChangedPayload>, log: Logger): Promise<void> {
  log.info(
    { event_id: entry.payload.event_id, change: entry.payload.change },
    "event changed (cache warming not built yet)",
  );
}

if (import.meta.main) {
  await runWorker("cache-warmer", () => [
    startConsumer({ stream: Streams.eventChanged, group: "cache-warmer", handler: onEventChanged }),
  ]);
}
