import { DomainError, ErrorCode } from "../../domain/errors";
import { errorMessage } from "../../platform/error-message";
import { logger, throttledWarn } from "../../platform/logger";
import { execReplicated, redis } from "../../platform/redis";

/** One sorted set per event, score = join time in ms (FIFO). Hash-tagged for Redis Cluster. */
export const waitlistKey = (eventId: number) => `{event:${eventId}}:waitlist`;
/** Ids of events that have (or had) a waitlist, so /metrics can report sizes without SCAN. */
export const waitlistIndexKey = "{waitlists}:index";

export interface WaitlistPosition {
  position: number; // 1-based
  size: number;
  joinedAtMs: number;
}

// Join and read in one atomic script: the position answered is the one stored. The line has no
// TTL on purpose: Redis evicts only keys with one (maxmemory-policy volatile-ttl, compose), so a
// line can never be evicted; the janitor drops it once the event has started (dropStartedWaitlists).
const JOIN = `
local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
return {added, redis.call('ZRANK', KEYS[1], ARGV[2]), redis.call('ZSCORE', KEYS[1], ARGV[2]), redis.call('ZCARD', KEYS[1])}`;

const POSITION = `
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then return false end
return {rank, redis.call('ZSCORE', KEYS[1], ARGV[1]), redis.call('ZCARD', KEYS[1])}`;

redis.defineCommand("waitlistJoin", { numberOfKeys: 1, lua: JOIN });
redis.defineCommand("waitlistPosition", { numberOfKeys: 1, lua: POSITION });

type Scripted = typeof redis & {
  waitlistJoin(key: string, score: number, member: string): Promise<[number, number, string, number]>;
  waitlistPosition(key: string, member: string): Promise<[number, string, number] | null>;
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

export function joinWaitlist(eventId: number, userId: number, nowMs: number) {
  return withRedis("join", async () => {
    // With REDIS_WAIT_REPLICAS, a join counts only once a replica holds it (a failover keeps it);
    // otherwise the caller gets 503 and retries: joining again is a no-op (ZADD NX).
    const [reply] = await execReplicated(redis, "waitlist_join", waitlistKey(eventId), (p) =>
      (p as unknown as Scripted).waitlistJoin(waitlistKey(eventId), nowMs, String(userId)),
    );
    const [added, rank, score, size] = reply as [number, number, string, number];
    if (added === 1) await redis.sadd(waitlistIndexKey, String(eventId));
    return { added: added === 1, position: rank + 1, size, joinedAtMs: Number(score) };
  });
}

export function waitlistPosition(eventId: number, userId: number): Promise<WaitlistPosition | null> {
  return withRedis("position", async () => {
    const r = await scripted.waitlistPosition(waitlistKey(eventId), String(userId));
    return r ? { position: r[0] + 1, size: r[2], joinedAtMs: Number(r[1]) } : null;
  });
}

export function leaveWaitlist(eventId: number, userId: number): Promise<boolean> {
  return withRedis("leave", async () => (await redis.zrem(waitlistKey(eventId), String(userId))) === 1);
}

export function waitlistEntries(eventId: number, limit: number): Promise<{ userId: number; joinedAtMs: number }[]> {
  return withRedis("entries", async () => {
    const flat = await redis.zrange(waitlistKey(eventId), "0", String(limit - 1), "WITHSCORES");
    const out: { userId: number; joinedAtMs: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ userId: Number(flat[i]), joinedAtMs: Number(flat[i + 1]) });
    return out;
  });
}

/** The first `n` user ids in line, without removing them (removal follows a committed offer). */
export async function headOfLine(eventId: number, n: number): Promise<number[]> {
  return (await redis.zrange(waitlistKey(eventId), "0", String(n - 1))).map(Number);
}

export async function removeFromLine(eventId: number, userId: number): Promise<void> {
  await redis.zrem(waitlistKey(eventId), String(userId));
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
    await redis.del(waitlistKey(eventId));
    await redis.srem(waitlistIndexKey, String(eventId));
  } catch (err) {
    logger.warn({ err: errorMessage(err), event_id: eventId }, "could not drop waitlist");
  }
}

/** Ids of the events that have (or had) a line, as recorded at join time. */
export async function eventsWithWaitlists(): Promise<number[]> {
  return (await redis.smembers(waitlistIndexKey)).map(Number);
}
