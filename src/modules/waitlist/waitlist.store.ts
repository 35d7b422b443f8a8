import { DomainError, ErrorCode } from "../../domain/errors";
import { errorMessage } from "../../platform/error-message";
import { logger, throttledWarn } from "../../platform/logger";
import { execReplicated, redis } from "../../platform/redis";

/** One sorted set per event, score = join time in ms (FIFO). Hash-tagged for Redis Cluster. */
export const waitlistKey = (eventId: number) => `{event:${eventId}}:waitlist`;
/** Each waiting user's party size (user id -> seats wanted), beside the line; absent means 1. */
export const waitlistPartyKey = (eventId: number) => `{event:${eventId}}:waitlist:party`;
/** Ids of events that have (or had) a waitlist, so /metrics can report sizes without SCAN. */
export const waitlistIndexKey = "{waitlists}:index";

export interface WaitlistPosition {
  position: number; // 1-based
  size: number;
  joinedAtMs: number;
  partySize: number;
  /** Seats the parties ahead want in all. */
  seatsAhead: number;
}

export interface LineEntry {
  userId: number;
  partySize: number;
  /** The entry's score; absent for a candidate read without it. */
  joinedAtMs?: number;
}

// Join and read in one atomic script: the position answered is the one stored. The line has no
// TTL on purpose: Redis evicts only keys with one (maxmemory-policy volatile-ttl, compose), so a
// line can never be evicted; the janitor drops it once the event has started (dropStartedWaitlists).
// The party size is written with the entry (same script), so a reader never sees one without
// the other. A second join keeps the first entry and its party size.
const JOIN = `
local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
if added == 1 then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
return {added, redis.call('ZRANK', KEYS[1], ARGV[2]), redis.call('ZSCORE', KEYS[1], ARGV[2]), redis.call('ZCARD', KEYS[1])}`;

// Position, party size, and the seats the parties ahead want (O(ahead): one HMGET over them).
const POSITION = `
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then return false end
local ahead = 0
if rank > 0 then
  local ids = redis.call('ZRANGE', KEYS[1], 0, rank - 1)
  local sizes = redis.call('HMGET', KEYS[2], unpack(ids))
  for i = 1, #ids do ahead = ahead + (tonumber(sizes[i]) or 1) end
end
return {rank, redis.call('ZSCORE', KEYS[1], ARGV[1]), redis.call('ZCARD', KEYS[1]), tonumber(redis.call('HGET', KEYS[2], ARGV[1])) or 1, ahead}`;

const HEAD = `
local flat = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
if #flat == 0 then return {} end
local ids = {}
for i = 1, #flat, 2 do ids[#ids + 1] = flat[i] end
local sizes = redis.call('HMGET', KEYS[2], unpack(ids))
local out = {}
for i = 1, #ids do
  out[3 * i - 2] = ids[i]; out[3 * i - 1] = tonumber(sizes[i]) or 1; out[3 * i] = flat[2 * i]
end
return out`;

const REMOVE = `
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])`;

redis.defineCommand("waitlistJoin", { numberOfKeys: 2, lua: JOIN });
redis.defineCommand("waitlistPosition", { numberOfKeys: 2, lua: POSITION });
redis.defineCommand("waitlistHead", { numberOfKeys: 2, lua: HEAD });
redis.defineCommand("waitlistRemove", { numberOfKeys: 2, lua: REMOVE });

type Scripted = typeof redis & {
  waitlistJoin(
    key: string,
    partyKey: string,
    score: number,
    member: string,
    party: number,
  ): Promise<[number, number, string, number]>;
  waitlistPosition(
    key: string,
    partyKey: string,
    member: string,
  ): Promise<[number, string, number, number, number] | null>;
  waitlistHead(key: string, partyKey: string, n: number): Promise<(string | number)[]>;
  waitlistRemove(key: string, partyKey: string, member: string): Promise<number>;
};
const scripted = redis as Scripted;

/** The waitlist lives only in Redis: without it, waitlist calls answer 503 (bookings do not need it). */
async function withRedis<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    logger.warn({ err: errorMessage(err), op: what }, "waitlist unavailable: redis error");
    throw new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "The waitlist is unavailable right now; try again shortly.", {
      retryAfterSeconds: 5,
    });
  }
}

export function joinWaitlist(
  eventId: number,
  userId: number,
  nowMs: number,
  partySize = 1,
): Promise<{ added: boolean }> {
  return withRedis("join", async () => {
    // With REDIS_WAIT_REPLICAS, a join counts only once a replica holds it (a failover keeps it);
    // otherwise the caller gets 503 and retries: joining again is a no-op (ZADD NX).
    const [reply] = await execReplicated(redis, "waitlist_join", waitlistKey(eventId), (p) =>
      (p as unknown as Scripted).waitlistJoin(
        waitlistKey(eventId),
        waitlistPartyKey(eventId),
        nowMs,
        String(userId),
        partySize,
      ),
    );
    const [added] = reply as [number];
    if (added === 1) await redis.sadd(waitlistIndexKey, String(eventId));
    return { added: added === 1 };
  });
}

export function waitlistPosition(eventId: number, userId: number): Promise<WaitlistPosition | null> {
  return withRedis("position", async () => {
    const r = await scripted.waitlistPosition(waitlistKey(eventId), waitlistPartyKey(eventId), String(userId));
    return r
      ? { position: r[0] + 1, size: r[2], joinedAtMs: Number(r[1]), partySize: Number(r[3]), seatsAhead: Number(r[4]) }
      : null;
  });
}

export function leaveWaitlist(eventId: number, userId: number): Promise<boolean> {
  return withRedis("leave", async () => (await removeEntry(eventId, userId)) === 1);
}

const removeEntry = (eventId: number, userId: number) =>
  scripted.waitlistRemove(waitlistKey(eventId), waitlistPartyKey(eventId), String(userId));

export function waitlistEntries(
  eventId: number,
  limit: number,
): Promise<{ userId: number; joinedAtMs: number; partySize: number }[]> {
  return withRedis("entries", async () => {
    const flat = await redis.zrange(waitlistKey(eventId), "0", String(limit - 1), "WITHSCORES");
    const ids: string[] = [];
    for (let i = 0; i < flat.length; i += 2) ids.push(flat[i] as string);
    const sizes = ids.length > 0 ? await redis.hmget(waitlistPartyKey(eventId), ...ids) : [];
    return ids.map((id, i) => ({
      userId: Number(id),
      joinedAtMs: Number(flat[2 * i + 1]),
      partySize: Number(sizes[i] ?? 1),
    }));
  });
}

/** The first `n` user ids in line, without removing them (removal follows a committed offer). */
export async function headOfLine(eventId: number, n: number): Promise<number[]> {
  return (await headEntries(eventId, n)).map((e) => e.userId);
}

/** The first `n` entries in line with their party sizes (one script: both read together). */
export async function headEntries(eventId: number, n: number): Promise<LineEntry[]> {
  const flat = await scripted.waitlistHead(waitlistKey(eventId), waitlistPartyKey(eventId), n);
  const out: LineEntry[] = [];
  for (let i = 0; i < flat.length; i += 3) {
    out.push({ userId: Number(flat[i]), partySize: Number(flat[i + 1]), joinedAtMs: Number(flat[i + 2]) });
  }
  return out;
}

/** A user's entry in line (party size 1 when not stored: entries from before party sizes), or null. */
export async function entryOf(eventId: number, userId: number): Promise<LineEntry | null> {
  const [score, party] = await Promise.all([
    redis.zscore(waitlistKey(eventId), String(userId)),
    redis.hget(waitlistPartyKey(eventId), String(userId)),
  ]);
  return score === null ? null : { userId, partySize: Number(party ?? 1), joinedAtMs: Number(score) };
}

export async function isInLine(eventId: number, userId: number): Promise<boolean> {
  return (await redis.zscore(waitlistKey(eventId), String(userId))) !== null;
}

export async function removeFromLine(eventId: number, userId: number): Promise<void> {
  await removeEntry(eventId, userId);
}

/** The list's size, or 0 when Redis cannot answer (logged): a display value, never a decision. */
// Asked by every event document load: during an outage, one line every 5 s, not one per read.
const warnSizeUnavailable = throttledWarn(5_000, "waitlist size unavailable: reporting 0");

export async function waitlistSize(eventId: number): Promise<number> {
  try {
    return await redis.zcard(waitlistKey(eventId));
  } catch (err) {
    warnSizeUnavailable({ err: errorMessage(err), event_id: eventId });
    return 0;
  }
}

/** The list's size, or undefined when Redis cannot say (logged): for decisions that must not assume 0. */
export async function waitlistSizeIfKnown(eventId: number): Promise<number | undefined> {
  try {
    return await redis.zcard(waitlistKey(eventId));
  } catch (err) {
    logger.warn({ err: errorMessage(err), event_id: eventId }, "waitlist size unknown: redis error");
    return undefined;
  }
}

export async function dropWaitlist(eventId: number): Promise<void> {
  try {
    // Two slots on Redis Cluster ({event:N} and {waitlists}): two commands, line first. A crash
    // between them leaves an id in the index whose line is gone, which /metrics reports as 0.
    await redis.del(waitlistKey(eventId), waitlistPartyKey(eventId));
    await redis.srem(waitlistIndexKey, String(eventId));
  } catch (err) {
    logger.warn({ err: errorMessage(err), event_id: eventId }, "could not drop waitlist");
  }
}

/** Ids of the events that have (or had) a line, as recorded at join time. */
export async function eventsWithWaitlists(): Promise<number[]> {
  return (await redis.smembers(waitlistIndexKey)).map(Number);
}
