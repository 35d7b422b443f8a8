import type { EventChangedPayload } from "../../messaging/catalog";
import type { StreamEntry } from "../../messaging/consumer";
import type { Logger } from "../../platform/logger";
import { warmEventDocument, warmHotEvents } from "./events.service";

/**
 * What the cache-warmer worker runs. Rebuilding is idempotent; a rebuild that races a newer
 * invalidation is stored under the old version and never served.
 */

/** After each `event.changed`, rebuilds that event's cached document (the API has already invalidated it). */
export async function onEventChanged(entry: StreamEntry<EventChangedPayload>, log: Logger): Promise<void> {
  const { event_id, change } = entry.payload;
  if (change === "deleted") return;
  await warmEventDocument(event_id);
  log.info({ event_id, change }, "event document warmed");
}

/** Rebuilds the documents of upcoming and hot events, so their first readers hit a warm cache. */
export async function warmSchedule(log: Logger): Promise<void> {
  const warmed = await warmHotEvents();
  log.debug({ warmed }, "hot and upcoming events warmed");
}
