import type Redis from "ioredis";
import { type LiveEntry, liveEntry, STATUS_CHAR } from "../../messaging/live";
import { sql } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { createBlockingRedis, isClusterMode } from "../../platform/redis";
import { broadcastSnapshot, closeFeed, scheduleFlush, unparkExpired, unparkReady } from "./live.fanout";
import type { Feed } from "./live.feed";
import { cmpId, idText, pairs, parseId, type StreamId } from "./live.ids";
import * as repo from "./live.repo";
import { feeds, feedsByGroup, feedsByKey, liveState, readers } from "./live.state";

const READ_BLOCK_MS = 100;
const READ_COUNT = 1_000;

/** Applies one stream entry to its feed (in stream order: the reader awaits each). */
async function applyEntry(feed: Feed, id: StreamId, entry: LiveEntry): Promise<void> {
  if ("k" in entry) {
    // The position moves only once the entry is applied: a batch flushed while the seats are
    // reloading must not carry the id of a snapshot its clients have not had yet.
    if (entry.k === "deleted") {
      feed.lastId = id;
      return closeFeed(feed);
    }
    const state = await repo.loadEventSeats(sql, feed.eventId);
    feed.lastId = id;
    if (!state) return closeFeed(feed);
    feed.reset(state, id);
    broadcastSnapshot(feed);
    return;
  }
  const unknown: number[] = [];
  for (const [seat, status, version] of entry.c) {
    if (version < 0) unknown.push(seat);
    else feed.apply(seat, status, version, id);
  }
  if (unknown.length > 0) {
    for (const row of await repo.seatVersions(sql, feed.eventId, unknown)) {
      feed.apply(row.seatNumber, STATUS_CHAR[row.status], row.version, id);
    }
  }
  feed.lastId = id;
}

/**
 * Starts the read loop of `group` unless it runs. Standalone Redis has one group: one XREAD over
 * every watched stream. On a cluster each hash slot is a group with its own blocking connection
 * (events' keys spread over 16384 slots, so about one per watched event); the loop ends and closes
 * its connection once the slot has no feed left.
 */
export function startReader(group: number): void {
  if (readers.has(group) || liveState.stopped) return;
  const client = createBlockingRedis(isClusterMode ? `live:${group}` : "live");
  readers.set(group, client);
  void readLoop(group, client).finally(() => {
    if (readers.get(group) === client) readers.delete(group);
    client.disconnect();
    // A feed added while the loop was ending found it still running: start it again.
    if (feedsByGroup.has(group) && !liveState.stopped) startReader(group);
  });
}

async function readLoop(group: number, reader: Redis): Promise<void> {
  for (;;) {
    const feedsOfGroup = feedsByGroup.get(group);
    if (liveState.stopped || !feedsOfGroup || feedsOfGroup.size === 0) return;
    const watched = [...feedsOfGroup].filter((f) => f.loaded);
    if (watched.length === 0) {
      await Bun.sleep(20);
      continue;
    }
    let reply: [string, [string, string[]][]][] | null;
    try {
      // Keys go out unprefixed (the client adds REDIS_KEY_PREFIX); replies name them prefixed.
      reply = (await reader.xread(
        "COUNT",
        READ_COUNT,
        "BLOCK",
        READ_BLOCK_MS,
        "STREAMS",
        ...watched.map((f) => f.key),
        ...watched.map((f) => idText(f.lastId)),
      )) as [string, [string, string[]][]][] | null;
    } catch (err) {
      if (liveState.stopped) return;
      logger.warn({ err: errorMessage(err) }, "live stream read failed; retrying");
      await Bun.sleep(500);
      continue;
    }
    const touched = new Set<Feed>();
    for (const [key, entries] of reply ?? []) {
      const feed = feedsByKey.get(key);
      if (!feed) continue;
      for (const [rawId, fields] of entries) {
        if (feeds.get(feed.eventId) !== feed) break;
        const id = parseId(rawId);
        if (!id || cmpId(id, feed.lastId) <= 0) continue;
        const parsed = liveEntry.safeParse(Object.fromEntries(pairs(fields)));
        if (!parsed.success) {
          logger.warn({ event_id: feed.eventId, id: rawId }, "malformed live stream entry skipped");
          feed.lastId = id;
          continue;
        }
        try {
          await applyEntry(feed, id, parsed.data);
        } catch (err) {
          // PostgreSQL unavailable for a lookup: the reconcile repairs what was skipped.
          logger.warn({ err: errorMessage(err), event_id: feed.eventId }, "live entry not applied");
          feed.lastId = id;
        }
      }
      touched.add(feed);
    }
    for (const feed of touched) {
      scheduleFlush(feed);
      unparkReady(feed);
    }
    for (const feed of watched) unparkExpired(feed);
  }
}
