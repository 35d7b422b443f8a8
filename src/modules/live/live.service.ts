import { config } from "../../config";
import { DomainError, ErrorCode } from "../../domain/errors";
import { liveEntry } from "../../messaging/live";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { liveConnections, liveRefused } from "../../platform/metrics";
import { isRedisReady, isRedisStarting, redis, waitForRedis } from "../../platform/redis";
import { drop, release, removeFeed, send } from "./live.fanout";
import { type Connection, encoder, Feed } from "./live.feed";
import { cmpId, idText, pairs, parseId, type StreamId, streamHoldsEverythingAfter } from "./live.ids";
import { startReader } from "./live.readers";
import { startTimers } from "./live.reconcile";
import { feeds, feedsByGroup, feedsByKey, liveState, perIp, readers } from "./live.state";

export type { SeatStatusSnapshot } from "./live.feed";

/**
 * Live availability, the subscriber side (docs/live.md). Each API process keeps one Feed per
 * event it has subscribers for: the event's seat statuses and versions, loaded from PostgreSQL and
 * kept current from the event's Redis stream by one reader per process (XREAD BLOCK over every
 * watched stream), or on Redis Cluster by one reader per hash slot watched (a multi-key XREAD must
 * stay in one slot). A change is applied only when its version is newer than the one the feed has,
 * so changes published out of commit order are dropped and nobody sees a seat go back. Applied
 * changes are sent to every connection of the feed at most every LIVE_BATCH_MS, as one SSE message
 * encoded once, with the stream id of the last entry applied as its SSE id.
 */

const PARK_TIMEOUT_MS = 5_000;

export function liveConnectionCount(): number {
  return liveState.total;
}

function refuse(code: "per_ip" | "process", err: DomainError): never {
  liveRefused.inc({ reason: code });
  throw err;
}

/**
 * Opens a live stream of `eventId` for a client at `ip`: the caps, the event's feed (404 when the
 * event is not live), then a snapshot, or the changes since `lastEventId` when this process can
 * tell them (a fresh snapshot when that id is older than the stream's window).
 */
export async function openLiveStream(
  eventId: number,
  ip: string,
  lastEventId?: string,
): Promise<ReadableStream<Uint8Array>> {
  if (liveState.stopped)
    refuse("process", new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "Shutting down.", { retryAfterSeconds: 1 }));
  if (liveState.total >= config.LIVE_MAX_CONNECTIONS) {
    refuse(
      "process",
      new DomainError(
        ErrorCode.SERVICE_UNAVAILABLE,
        "This server has no room for another live stream; retry shortly.",
        {
          retryAfterSeconds: 5,
        },
      ),
    );
  }
  if ((perIp.get(ip) ?? 0) >= config.LIVE_MAX_CONNECTIONS_PER_IP) {
    refuse(
      "per_ip",
      new DomainError(
        ErrorCode.RATE_LIMITED,
        `At most ${config.LIVE_MAX_CONNECTIONS_PER_IP} live streams per client address.`,
        { retryAfterSeconds: 10 },
      ),
    );
  }
  if (isRedisStarting()) await waitForRedis(2_000);
  if (!isRedisReady()) {
    throw new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "Live updates are unavailable right now; poll seat-status.", {
      retryAfterSeconds: 5,
    });
  }
  // Counted before any await, so a burst cannot pass the caps together.
  liveState.total++;
  perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
  liveConnections.set(liveState.total);
  const uncount = () => {
    liveState.total--;
    liveConnections.set(liveState.total);
    const left = (perIp.get(ip) ?? 1) - 1;
    if (left <= 0) perIp.delete(ip);
    else perIp.set(ip, left);
  };

  let feed: Feed;
  try {
    feed = await feedFor(eventId);
  } catch (err) {
    uncount();
    throw err;
  }
  const resume = lastEventId ? await resumePlan(feed, lastEventId).catch(() => "snapshot" as const) : "snapshot";
  if (feeds.get(eventId) !== feed) {
    uncount();
    throw new DomainError(ErrorCode.EVENT_NOT_FOUND, `Event ${eventId} does not exist.`);
  }

  let conn: Connection | undefined;
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        conn = { ip, feed, controller, closed: false };
        if (feed.lingerTimer) clearTimeout(feed.lingerTimer);
        feed.lingerTimer = undefined;
        feed.connections.add(conn);
        // A little jitter, so a dropped crowd does not come back in one instant.
        const retry = config.LIVE_RETRY_MS + Math.floor(Math.random() * Math.min(2_000, config.LIVE_RETRY_MS));
        send(conn, encoder.encode(`retry: ${retry}\n\n`));
        // Decided now, as the connection joins the feed: nothing applied meanwhile is missed.
        if (resume === "snapshot" || resume.generation !== feed.generation) send(conn, feed.snapshotMessage());
        else if ("park" in resume) conn.parkedUntil = { id: resume.park, deadline: Date.now() + PARK_TIMEOUT_MS };
        else {
          const seats = new Set([...resume.fromStream, ...feed.changedAfter(resume.since)]);
          if (seats.size > 0) send(conn, feed.seatsMessage(seats));
          else send(conn, encoder.encode(": resumed\n\n"));
        }
      },
      cancel() {
        if (conn) release(conn);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: config.LIVE_CONNECTION_BUFFER_BYTES }),
  );
  return stream;
}

async function feedFor(eventId: number): Promise<Feed> {
  let feed = feeds.get(eventId);
  if (!feed) {
    feed = new Feed(eventId);
    feeds.set(eventId, feed);
    feedsByKey.set(feed.fullKey, feed);
    const group = feedsByGroup.get(feed.group) ?? new Set<Feed>();
    feedsByGroup.set(feed.group, group.add(feed));
    startTimers();
  }
  let ok: boolean;
  try {
    ok = await feed.ready;
  } catch (err) {
    removeFeed(feed);
    logger.warn({ err: errorMessage(err), event_id: eventId }, "live feed not loaded");
    throw new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "Live updates are unavailable right now; poll seat-status.", {
      retryAfterSeconds: 5,
    });
  }
  if (!ok) {
    removeFeed(feed);
    throw new DomainError(ErrorCode.EVENT_NOT_FOUND, `Event ${eventId} does not exist.`);
  }
  startReader(feed.group);
  return feed;
}

/** Seats changed after `since` come from the feed; `fromStream` from entries before its load. */
type ResumePlan =
  | "snapshot"
  | { generation: number; park: StreamId }
  | { generation: number; since: StreamId; fromStream: number[] };

/**
 * What a reconnecting client needs after `lastEventId`: nothing but later changes when it is this
 * feed's position, the seats changed since then when the stream still holds every entry after it
 * (Redis 7's max-deleted-entry-id says what trimming removed), else a snapshot.
 */
async function resumePlan(feed: Feed, lastEventId: string): Promise<ResumePlan> {
  const from = parseId(lastEventId.trim());
  if (!from) return "snapshot";
  const generation = feed.generation;
  const base = feed.baseId;
  if (cmpId(from, feed.lastId) > 0) return { generation, park: from };
  if (cmpId(from, base) >= 0) return { generation, since: from, fromStream: [] };
  if (!(await streamHoldsEverythingAfter(feed.key, from))) return "snapshot";
  const entries = (await redis.xrange(feed.key, `(${idText(from)}`, idText(base))) as [string, string[]][];
  const fromStream: number[] = [];
  for (const [, fields] of entries) {
    const parsed = liveEntry.safeParse(Object.fromEntries(pairs(fields)));
    if (!parsed.success || "k" in parsed.data) return "snapshot";
    for (const [seat] of parsed.data.c) if (seat <= feed.statuses.length) fromStream.push(seat);
  }
  return { generation, since: base, fromStream };
}

/** Ends every stream (shutdown: clients reconnect to another replica) and the reader. */
export async function closeLive(): Promise<void> {
  liveState.stopped = true;
  for (const t of liveState.timers) clearInterval(t);
  liveState.timers = [];
  for (const feed of [...feeds.values()]) {
    for (const conn of [...feed.connections]) drop(conn, "shutdown");
    removeFeed(feed);
  }
  for (const client of readers.values()) client.disconnect();
  readers.clear();
}
