import { config } from "../../config";
import { appendLiveEntry, type ChangeTuple } from "../../messaging/live";
import { sql } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { heartbeat } from "./live.fanout";
import type { Feed } from "./live.feed";
import * as repo from "./live.repo";
import { feeds, liveState } from "./live.state";

/**
 * Lost publishes (a process that died between COMMIT and XADD, Redis down for a moment): each
 * process compares its feeds with PostgreSQL. Versions only grow, so an equal (count, sum) means
 * nothing is missing; otherwise the seats PostgreSQL has newer (and had newer at the previous pass
 * too, so in-flight publishes are not doubled) are appended to the stream as a repair, so every
 * process and every resume sees them under a stream id.
 */
async function reconcile(): Promise<void> {
  for (const feed of [...feeds.values()]) {
    if (!feed.loaded || liveState.stopped) continue;
    try {
      await reconcileFeed(feed);
    } catch (err) {
      logger.warn({ err: errorMessage(err), event_id: feed.eventId }, "live reconcile failed");
    }
  }
}

async function reconcileFeed(feed: Feed): Promise<void> {
  const summary = await repo.versionSummary(sql, feed.eventId);
  if (!summary.live) return appendLiveEntry(feed.eventId, { k: "deleted" });
  if (summary.seats !== feed.statuses.length) return appendLiveEntry(feed.eventId, { k: "resync" });
  if (summary.versionSum === feed.versionSum) {
    feed.suspects.clear();
    return;
  }
  const state = await repo.loadEventSeats(sql, feed.eventId);
  if (!state) return;
  const repairs: ChangeTuple[] = [];
  const suspects = new Map<number, number>();
  for (let i = 0; i < state.versions.length; i++) {
    const version = state.versions[i] as number;
    if (version <= (feed.versions[i] as number)) continue;
    const seat = i + 1;
    if (feed.suspects.get(seat) === version) {
      repairs.push([seat, (state.statuses[i] as "A" | "H" | "B") ?? "A", version]);
    } else suspects.set(seat, version);
  }
  feed.suspects = suspects;
  if (repairs.length > 0) {
    logger.info({ event_id: feed.eventId, seats: repairs.length }, "live reconcile: republishing lost changes");
    await appendLiveEntry(feed.eventId, { c: repairs });
  }
}

export function startTimers(): void {
  if (liveState.timers.length > 0) return;
  liveState.timers = [
    setInterval(heartbeat, config.LIVE_HEARTBEAT_MS),
    setInterval(() => void reconcile(), config.LIVE_RECONCILE_MS),
  ];
  for (const t of liveState.timers) t.unref?.();
}
