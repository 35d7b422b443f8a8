import type Redis from "ioredis";
import { config } from "../../config";
import { DomainError, ErrorCode } from "../../domain/errors";
import {
  appendLiveEntry,
  type ChangeTuple,
  type LiveEntry,
  liveEntry,
  liveStreamKey,
  STATUS_CHAR,
} from "../../messaging/live";
import { sql } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { liveConnections, liveDelivered, liveDropped, liveRefused } from "../../platform/metrics";
import {
  createBlockingRedis,
  hashSlot,
  isClusterMode,
  isRedisReady,
  isRedisStarting,
  redis,
  waitForRedis,
} from "../../platform/redis";
import * as repo from "./live.repo";

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

type StreamId = readonly [ms: number, seq: number];
const ZERO_ID: StreamId = [0, 0];
const STREAM_ID = /^(\d{1,16})-(\d{1,16})$/;

function parseId(id: string): StreamId | undefined {
  const m = STREAM_ID.exec(id);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}
const cmpId = (a: StreamId, b: StreamId) => (a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1]);
const idText = (id: StreamId) => `${id[0]}-${id[1]}`;

const encoder = new TextEncoder();
const CHAR_OF = { A: 65, H: 72, B: 66 } as const;
const STATUS_OF_CODE: Record<number, "A" | "H" | "B"> = { 65: "A", 72: "H", 66: "B" };
const READ_BLOCK_MS = 100;
const READ_COUNT = 1_000;
const FEED_LINGER_MS = 30_000;
const PARK_TIMEOUT_MS = 5_000;
// As in src/messaging/live.ts: a stream nobody writes to for a day expires.
const STREAM_TTL_MS = 24 * 3_600_000;

export interface SeatStatusSnapshot {
  event_id: number;
  capacity: number;
  available: number;
  held: number;
  booked: number;
  statuses: string;
}

interface Connection {
  ip: string;
  feed: Feed;
  controller: ReadableStreamDefaultController<Uint8Array>;
  closed: boolean;
  /** Since when unread bytes have been waiting without ever draining (idle detection). */
  stalledSince?: number;
  /** Resuming from an id this process has not read up to yet: waits for the reader. */
  parkedUntil?: { id: StreamId; deadline: number };
}

class Feed {
  readonly key: string;
  readonly fullKey: string;
  /** Which reader reads this feed's stream: its hash slot on a cluster, else the one reader (0). */
  readonly group: number;
  statuses = new Uint8Array(0);
  versions = new Int32Array(0);
  /** Stream id of the last change applied to each seat ([0, 0]: before this feed was loaded). */
  changedMs = new Float64Array(0);
  changedSeq = new Float64Array(0);
  counts = { A: 0, H: 0, B: 0 };
  versionSum = 0;
  /** Position of the load: changes before it are known only from the stream. */
  baseId: StreamId = ZERO_ID;
  lastId: StreamId = ZERO_ID;
  loaded = false;
  /** Bumped by every reset: a resume planned against an older generation gets a snapshot. */
  generation = 0;
  private snapshotCache: { at: StreamId; bytes: Uint8Array } | undefined;
  readonly ready: Promise<boolean>;
  readonly connections = new Set<Connection>();
  readonly pending = new Set<number>();
  lastFlush = 0;
  flushTimer: ReturnType<typeof setTimeout> | undefined;
  lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Seats PostgreSQL had newer at the last reconcile pass: repaired if still behind at the next. */
  suspects = new Map<number, number>();

  constructor(readonly eventId: number) {
    this.key = liveStreamKey(eventId);
    this.fullKey = config.REDIS_KEY_PREFIX + this.key;
    this.group = isClusterMode ? hashSlot(this.key) : 0;
    this.ready = this.load();
  }

  /** Position first, then PostgreSQL: every entry up to the position is already in what we read. */
  async load(): Promise<boolean> {
    const info = await streamInfo(this.key);
    const state = await repo.loadEventSeats(sql, this.eventId);
    if (!state) return false;
    // No stream (never written, or expired): read it from its start once it appears, but resume
    // nobody from before now, since what an expired stream held is gone.
    if (info) this.reset(state, info.lastGenerated, info.lastGenerated);
    else this.reset(state, ZERO_ID, [Date.now(), 0]);
    this.loaded = true;
    return true;
  }

  reset(state: repo.EventSeatState, position: StreamId, base: StreamId = position): void {
    const n = state.statuses.length;
    this.statuses = encoder.encode(state.statuses);
    this.versions = Int32Array.from(state.versions);
    this.changedMs = new Float64Array(n);
    this.changedSeq = new Float64Array(n);
    this.counts = { A: 0, H: 0, B: 0 };
    this.versionSum = 0;
    for (let i = 0; i < n; i++) {
      this.counts[STATUS_OF_CODE[this.statuses[i] as number] ?? "A"]++;
      this.versionSum += this.versions[i] as number;
    }
    this.baseId = base;
    this.lastId = position;
    this.generation++;
    this.snapshotCache = undefined;
    this.pending.clear();
    this.suspects.clear();
  }

  /** Applies one change if it is newer than what the feed has; true when it was. */
  apply(seat: number, status: "A" | "H" | "B", version: number, at: StreamId): boolean {
    const i = seat - 1;
    if (i < 0 || i >= this.statuses.length || version <= (this.versions[i] as number)) return false;
    const before = STATUS_OF_CODE[this.statuses[i] as number] ?? "A";
    this.counts[before]--;
    this.counts[status]++;
    this.versionSum += version - (this.versions[i] as number);
    this.statuses[i] = CHAR_OF[status];
    this.versions[i] = version;
    this.changedMs[i] = at[0];
    this.changedSeq[i] = at[1];
    this.pending.add(seat);
    this.snapshotCache = undefined;
    return true;
  }

  tuple(seat: number): ChangeTuple {
    const i = seat - 1;
    return [seat, STATUS_OF_CODE[this.statuses[i] as number] ?? "A", this.versions[i] as number];
  }

  snapshot(): SeatStatusSnapshot {
    return {
      event_id: this.eventId,
      capacity: this.statuses.length,
      available: this.counts.A,
      held: this.counts.H,
      booked: this.counts.B,
      statuses: new TextDecoder().decode(this.statuses),
    };
  }

  /** Encoded once per state: a crowd reconnecting to a large event costs one encoding. */
  snapshotMessage(): Uint8Array {
    const cached = this.snapshotCache;
    if (cached && cmpId(cached.at, this.lastId) === 0) return cached.bytes;
    const bytes = encoder.encode(
      `id: ${idText(this.lastId)}\nevent: snapshot\ndata: ${JSON.stringify(this.snapshot())}\n\n`,
    );
    this.snapshotCache = { at: this.lastId, bytes };
    return bytes;
  }

  seatsMessage(seats: Iterable<number>): Uint8Array {
    const changes = [...seats].sort((a, b) => a - b).map((s) => this.tuple(s));
    const data = {
      event_id: this.eventId,
      changes,
      available: this.counts.A,
      held: this.counts.H,
      booked: this.counts.B,
    };
    return encoder.encode(`id: ${idText(this.lastId)}\nevent: seats\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Seats whose last applied change came after `id` (only meaningful for id >= baseId). */
  changedAfter(id: StreamId): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.statuses.length; i++) {
      const ms = this.changedMs[i] as number;
      if (ms > id[0] || (ms === id[0] && (this.changedSeq[i] as number) > id[1])) out.push(i + 1);
    }
    return out;
  }
}

const feeds = new Map<number, Feed>();
const feedsByKey = new Map<string, Feed>();
/** Feeds by reader group (see Feed.group). */
const feedsByGroup = new Map<number, Set<Feed>>();
/** One blocking connection and read loop per group with feeds. */
const readers = new Map<number, Redis>();
const perIp = new Map<string, number>();
let total = 0;
let timers: ReturnType<typeof setInterval>[] = [];
let stopped = false;

export function liveConnectionCount(): number {
  return total;
}

function send(conn: Connection, bytes: Uint8Array): void {
  if (conn.closed) return;
  // desiredSize = buffer limit - bytes the client has not read yet. A full buffer drops the
  // stream, so one connection holds at most the limit plus one message (a snapshot at most).
  if ((conn.controller.desiredSize ?? 0) <= 0) {
    drop(conn, "slow");
    return;
  }
  try {
    conn.controller.enqueue(bytes);
  } catch {
    // The client went away and the stream is already closed: forget it, keep fanning out.
    release(conn);
    return;
  }
  liveDelivered.inc();
}

function drop(conn: Connection, reason: "slow" | "idle" | "deleted" | "shutdown"): void {
  if (conn.closed) return;
  if (reason === "deleted" || reason === "shutdown") {
    try {
      conn.controller.close();
    } catch {
      // already errored by the client going away
    }
  } else {
    // An error, not close(): close() would wait for the unread bytes to drain, which they never do.
    conn.controller.error(new Error(`live stream dropped: ${reason}`));
  }
  liveDropped.inc({ reason });
  release(conn);
}

/** Forgets a connection (client gone or dropped); the feed lingers a while for reconnects. */
function release(conn: Connection): void {
  if (conn.closed) return;
  conn.closed = true;
  total--;
  liveConnections.set(total);
  const left = (perIp.get(conn.ip) ?? 1) - 1;
  if (left <= 0) perIp.delete(conn.ip);
  else perIp.set(conn.ip, left);
  const feed = conn.feed;
  feed.connections.delete(conn);
  if (feed.connections.size === 0 && !feed.lingerTimer && feeds.get(feed.eventId) === feed) {
    feed.lingerTimer = setTimeout(() => {
      feed.lingerTimer = undefined;
      if (feed.connections.size === 0) removeFeed(feed);
    }, FEED_LINGER_MS);
    feed.lingerTimer.unref?.();
  }
}

function removeFeed(feed: Feed): void {
  if (feeds.get(feed.eventId) === feed) feeds.delete(feed.eventId);
  if (feedsByKey.get(feed.fullKey) === feed) feedsByKey.delete(feed.fullKey);
  const group = feedsByGroup.get(feed.group);
  group?.delete(feed);
  if (group?.size === 0) feedsByGroup.delete(feed.group);
  if (feed.flushTimer) clearTimeout(feed.flushTimer);
  if (feed.lingerTimer) clearTimeout(feed.lingerTimer);
}

function flush(feed: Feed): void {
  if (feed.flushTimer) clearTimeout(feed.flushTimer);
  feed.flushTimer = undefined;
  feed.lastFlush = Date.now();
  if (feed.pending.size === 0) return;
  const message = feed.seatsMessage(feed.pending);
  feed.pending.clear();
  for (const conn of feed.connections) if (!conn.parkedUntil) send(conn, message);
}

function scheduleFlush(feed: Feed): void {
  if (feed.pending.size === 0 || feed.flushTimer) return;
  const wait = feed.lastFlush + config.LIVE_BATCH_MS - Date.now();
  if (wait <= 0) flush(feed);
  else feed.flushTimer = setTimeout(() => flush(feed), wait);
}

/** Sends a fresh snapshot to every connection of the feed (its seat set changed). */
function broadcastSnapshot(feed: Feed): void {
  const message = feed.snapshotMessage();
  for (const conn of feed.connections) {
    conn.parkedUntil = undefined;
    send(conn, message);
  }
}

function closeFeed(feed: Feed): void {
  flush(feed);
  const message = encoder.encode(
    `id: ${idText(feed.lastId)}\nevent: deleted\ndata: ${JSON.stringify({ event_id: feed.eventId })}\n\n`,
  );
  for (const conn of [...feed.connections]) {
    send(conn, message);
    drop(conn, "deleted");
  }
  removeFeed(feed);
}

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
function startReader(group: number): void {
  if (readers.has(group) || stopped) return;
  const client = createBlockingRedis(isClusterMode ? `live:${group}` : "live");
  readers.set(group, client);
  void readLoop(group, client).finally(() => {
    if (readers.get(group) === client) readers.delete(group);
    client.disconnect();
    // A feed added while the loop was ending found it still running: start it again.
    if (feedsByGroup.has(group) && !stopped) startReader(group);
  });
}

async function readLoop(group: number, reader: Redis): Promise<void> {
  for (;;) {
    const feedsOfGroup = feedsByGroup.get(group);
    if (stopped || !feedsOfGroup || feedsOfGroup.size === 0) return;
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
      if (stopped) return;
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

function pairs(fields: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) out.push([fields[i] as string, fields[i + 1] as string]);
  return out;
}

function unparkReady(feed: Feed): void {
  for (const conn of feed.connections) {
    const parked = conn.parkedUntil;
    if (!parked || cmpId(feed.lastId, parked.id) < 0) continue;
    conn.parkedUntil = undefined;
    const seats = feed.changedAfter(parked.id);
    if (seats.length > 0) send(conn, feed.seatsMessage(seats));
  }
}

function unparkExpired(feed: Feed): void {
  const now = Date.now();
  for (const conn of feed.connections) {
    if (conn.parkedUntil && conn.parkedUntil.deadline < now) {
      conn.parkedUntil = undefined;
      send(conn, feed.snapshotMessage());
    }
  }
}

/** Heartbeats, and idle readers: unread bytes waiting since the previous ticks, never drained. */
function heartbeat(): void {
  const beat = encoder.encode(": heartbeat\n\n");
  const now = Date.now();
  for (const feed of feeds.values()) {
    for (const conn of [...feed.connections]) {
      const unread = config.LIVE_CONNECTION_BUFFER_BYTES - (conn.controller.desiredSize ?? 0);
      if (unread <= 0) conn.stalledSince = undefined;
      else if (conn.stalledSince === undefined) conn.stalledSince = now;
      else if (now - conn.stalledSince >= config.LIVE_IDLE_TIMEOUT_MS) {
        drop(conn, "idle");
        continue;
      }
      send(conn, beat);
    }
  }
}

/**
 * Lost publishes (a process that died between COMMIT and XADD, Redis down for a moment): each
 * process compares its feeds with PostgreSQL. Versions only grow, so an equal (count, sum) means
 * nothing is missing; otherwise the seats PostgreSQL has newer (and had newer at the previous pass
 * too, so in-flight publishes are not doubled) are appended to the stream as a repair, so every
 * process and every resume sees them under a stream id.
 */
async function reconcile(): Promise<void> {
  for (const feed of [...feeds.values()]) {
    if (!feed.loaded || stopped) continue;
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

function startTimers(): void {
  if (timers.length > 0) return;
  timers = [
    setInterval(heartbeat, config.LIVE_HEARTBEAT_MS),
    setInterval(() => void reconcile(), config.LIVE_RECONCILE_MS),
  ];
  for (const t of timers) t.unref?.();
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
  if (stopped)
    refuse("process", new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "Shutting down.", { retryAfterSeconds: 1 }));
  if (total >= config.LIVE_MAX_CONNECTIONS) {
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
  total++;
  perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
  liveConnections.set(total);
  const uncount = () => {
    total--;
    liveConnections.set(total);
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

/**
 * Whether trimming (approximate MAXLEN) removed no entry after `from`: nothing was ever trimmed,
 * or the client has seen the oldest entry still kept, or it has seen the last one ever added.
 * Trimmed entries are all older than the first one kept; a missing stream (expired) holds nothing.
 */
async function streamHoldsEverythingAfter(key: string, from: StreamId): Promise<boolean> {
  // A stream idle for its whole TTL may have expired and started again: older ids resume nothing.
  if (from[0] < Date.now() - STREAM_TTL_MS + 3_600_000) return false;
  const info = await streamInfo(key);
  if (!info) return false;
  if (info.entriesAdded - info.length === 0) return true;
  if (info.length > 0 && info.first && cmpId(from, info.first) >= 0) return true;
  return cmpId(from, info.lastGenerated) >= 0;
}

interface StreamInfo {
  length: number;
  entriesAdded: number;
  first?: StreamId;
  lastGenerated: StreamId;
}

/** XINFO STREAM (Redis 7: entries-added, recorded-first-entry-id), or undefined without a stream. */
async function streamInfo(key: string): Promise<StreamInfo | undefined> {
  let raw: unknown[];
  try {
    raw = (await redis.xinfo("STREAM", key)) as unknown[];
  } catch (err) {
    if (/no such key/i.test(errorMessage(err))) return undefined;
    throw err;
  }
  const info = new Map<string, unknown>();
  for (let i = 0; i + 1 < raw.length; i += 2) info.set(String(raw[i]), raw[i + 1]);
  const length = Number(info.get("length") ?? 0);
  return {
    length,
    // Without the field (Redis < 7) every resume from before the load is treated as trimmed.
    entriesAdded: Number(info.get("entries-added") ?? Number.POSITIVE_INFINITY),
    first: parseId(String(info.get("recorded-first-entry-id") ?? "")),
    lastGenerated: parseId(String(info.get("last-generated-id") ?? "")) ?? ZERO_ID,
  };
}

/** Ends every stream (shutdown: clients reconnect to another replica) and the reader. */
export async function closeLive(): Promise<void> {
  stopped = true;
  for (const t of timers) clearInterval(t);
  timers = [];
  for (const feed of [...feeds.values()]) {
    for (const conn of [...feed.connections]) drop(conn, "shutdown");
    removeFeed(feed);
  }
  for (const client of readers.values()) client.disconnect();
  readers.clear();
}
