import type Redis from "ioredis";
import { streamEntriesDeadLettered } from "../platform/metrics";
import { redis } from "../platform/redis";
import { compareStreamIds, deadLetterStream, parseEntries, type RawEntry } from "./streams";

/** Consumer-group operations used by the consumer loop (consumer.ts), kept apart so the loop stays readable. */

export interface GroupRef {
  stream: string;
  group: string;
  consumer: string;
}

/** XREADGROUP … BLOCK for entries never delivered to anyone (">"), on the caller's blocking connection. */
export async function readNewEntries(conn: Redis, ref: GroupRef, count: number, blockMs: number): Promise<RawEntry[]> {
  const reply = (await conn.xreadgroup(
    "GROUP",
    ref.group,
    ref.consumer,
    "COUNT",
    count,
    "BLOCK",
    blockMs,
    "STREAMS",
    ref.stream,
    ">",
  )) as unknown as [string, unknown][] | null;
  return parseEntries(reply?.[0]?.[1]);
}

/**
 * XAUTOCLAIM: takes over entries pending longer than `minIdleMs` with any consumer (counting a
 * delivery). Entries deleted from the stream meanwhile are dropped from the PEL by Redis itself.
 */
export async function claimIdleEntries(
  ref: GroupRef,
  minIdleMs: number,
  cursor: string,
  count: number,
): Promise<{ cursor: string; entries: RawEntry[] }> {
  const reply = (await redis.xautoclaim(
    ref.stream,
    ref.group,
    ref.consumer,
    minIdleMs,
    cursor,
    "COUNT",
    count,
  )) as unknown as [string, unknown];
  return { cursor: reply[0], entries: parseEntries(reply[1]) };
}

/**
 * Re-claims one of this consumer's own entries for a retry; XCLAIM counts the delivery. The
 * min-idle makes it a no-op (undefined) when another consumer took the entry over meanwhile
 * (their claim reset its idle time) or it was deleted from the stream.
 */
export async function claimForRetry(ref: GroupRef, id: string, minIdleMs: number): Promise<RawEntry | undefined> {
  return parseEntries(await redis.xclaim(ref.stream, ref.group, ref.consumer, minIdleMs, id))[0];
}

export type DeadLetterReason = "permanent_error" | "retries_exhausted" | "max_deliveries" | "malformed";

/**
 * Copies the entry to `<stream>.dead` with why it failed, then acknowledges it. Two commands, not
 * a MULTI: the two keys may live on different cluster slots. A crash between them leaves the
 * entry pending, so it may be dead-lettered twice; never lost.
 */
export async function deadLetter(
  ref: GroupRef,
  entry: RawEntry,
  details: { reason: DeadLetterReason; error: string; deliveries: number },
): Promise<void> {
  await redis.xadd(
    deadLetterStream(ref.stream),
    "*",
    ...Object.entries(entry.fields).flat(),
    "source_stream",
    ref.stream,
    "source_id",
    entry.id,
    "group",
    ref.group,
    "consumer",
    ref.consumer,
    "reason",
    details.reason,
    "error",
    details.error.slice(0, 1_000),
    "deliveries",
    String(details.deliveries),
    "failed_at",
    new Date().toISOString(),
  );
  await redis.xack(ref.stream, ref.group, entry.id);
  streamEntriesDeadLettered.inc({ stream: ref.stream, group: ref.group, reason: details.reason });
}

/**
 * Delivery counts (XPENDING) of entries this consumer now owns, e.g. right after XAUTOCLAIM,
 * which claims but does not report them.
 */
export async function deliveryCounts(ref: GroupRef, ids: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (ids.length === 0) return counts;
  const sorted = [...ids].sort(compareStreamIds);
  const reply = (await redis.xpending(
    ref.stream,
    ref.group,
    sorted[0] as string,
    sorted[sorted.length - 1] as string,
    // The range may also hold other entries this consumer owns (scheduled retries).
    ids.length + 100,
    ref.consumer,
  )) as unknown as [string, string, number, number][];
  for (const [id, , , delivered] of reply) counts.set(id, Number(delivered));
  return counts;
}

/**
 * Hands entries back without counting a delivery: sets their idle time past the visibility
 * timeout so the next XAUTOCLAIM by any consumer takes them at once. Used on shutdown for
 * entries that were fetched but not started.
 */
export async function releaseEntries(ref: GroupRef, ids: string[], visibilityTimeoutMs: number): Promise<void> {
  if (ids.length === 0) return;
  await redis.xclaim(ref.stream, ref.group, ref.consumer, 0, ...ids, "IDLE", visibilityTimeoutMs + 1, "JUSTID");
}

/**
 * Removes consumers that own nothing and have been idle for `idleMs`: every process start adds a
 * consumer name (host-pid), and dead ones would otherwise accumulate in XINFO forever.
 */
export async function pruneIdleConsumers(ref: GroupRef, idleMs: number): Promise<string[]> {
  const reply = (await redis.xinfo("CONSUMERS", ref.stream, ref.group)) as unknown as (string | number)[][];
  const removed: string[] = [];
  for (const flat of reply) {
    const info: Record<string, string | number> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) info[String(flat[i])] = flat[i + 1] as string | number;
    const name = String(info.name);
    if (name === ref.consumer || Number(info.pending) > 0 || Number(info.idle) < idleMs) continue;
    await redis.xgroup("DELCONSUMER", ref.stream, ref.group, name);
    removed.push(name);
  }
  return removed;
}
