import { DomainError, ErrorCode } from "../../domain/errors";
import { errorMessage } from "../../platform/error-message";
import { logger, throttledWarn } from "../../platform/logger";
import { redis } from "../../platform/redis";

/** One sorted set per event, score = join time in ms (FIFO). Hash-tagged for Redis Cluster. */
export const waitlistKey = (eventId: number) => `{event:${eventId}}:waitlist`;
/** Ids of events that have (or had) a waitlist, so /metrics can report sizes without SCAN. */
export const waitlistIndexKey = "{waitlists}:index";

export interface WaitlistPosition {
  position: number; // 1-based
  size: number;
  joinedAtMs: number;
}

// Join and read in one atomic script: the position answered is the one stored.
const JOIN = `
local added = redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
return {added, redis.call('ZRANK', KEYS[1], ARGV[2]), redis.call('ZSCORE', KEYS[1], ARGV[2]), redis.call('ZCARD', KEYS[1])}`;

const POSITION = `
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then return false end
return {rank, redis.call('ZSCORE', KEYS[1], ARGV[1]), redis.call('ZCARD', KEYS[1])}`;

redis.defineCommand("waitlistJoin", { numberOfKeys: 1, lua: JOIN });
redis.defineCommand("waitlistPosition", { numberOfKeys: 1, lua: POSITION });

type Scripted = typeof redis & {
  waitlistJoin(
    key: string,
    score: number,
    member: string,
    expireAtMs: number,
  ): Promise<[number, number, string, number]>;
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

export function joinWaitlist(eventId: number, userId: number, nowMs: number, expireAtMs: number) {
  return withRedis("join", async () => {
    const [added, rank, score, size] = await scripted.waitlistJoin(
      waitlistKey(eventId),
      nowMs,
      String(userId),
      expireAtMs,
    );
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

/** The line expires at the event's start: when the start moves, so does the expiry. */
export async function rescheduleWaitlist(eventId: number, startMs: number): Promise<void> {
  try {
    await redis.pexpireat(waitlistKey(eventId), startMs);
  } catch (err) {
    logger.warn({ err: errorMessage(err), event_id: eventId }, "could not move the waitlist's expiry");
  }
}

export async function dropWaitlist(eventId: number): Promise<void> {
  try {
    await redis.del(waitlistKey(eventId));
  } catch (err) {
    logger.warn({ err: errorMessage(err), event_id: eventId }, "could not drop waitlist");
  }
}
