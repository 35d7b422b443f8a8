import type Redis from "ioredis";
import type { z } from "zod";
import { config } from "../config";
import { errorMessage } from "../platform/error-message";
import { throttledWarn } from "../platform/logger";
import { streamGroupLag, streamGroupLagAlert, streamGroupPending } from "../platform/metrics";
import { redis } from "../platform/redis";

/**
 * Redis stream conventions shared by the outbox relay (publisher) and the consumer loop (consumer.ts).
 *
 * Keys are the plain stream names; the ioredis client adds REDIS_KEY_PREFIX itself, and does so
 * for every stream command we use (XADD, XGROUP CREATE, XREADGROUP … STREAMS, XAUTOCLAIM, XCLAIM,
 * XACK, XPENDING, XINFO, XTRIM): tests/messaging/streams.test.ts checks the raw keys, so a client upgrade
 * that broke it would fail there rather than in production.
 */

/** Where entries go that could not be handled (retries exhausted or a permanent error). */
export const deadLetterStream = (stream: string): string => `${stream}.dead`;

/*
 * No stream has a length cap: `MAXLEN` trims regardless of consumer groups, so a long outage of a
 * worker (or of Mailgun) would silently drop unread entries. The maintenance worker trims only
 * what every group has read and acknowledged (trimConsumedEntries), and a growing backlog is
 * visible as evently_stream_lag / evently_stream_lag_alert long before Redis memory is at risk
 * (docs/workers.md, "Backlog alerts"). Should Redis still fill up, XADD fails, the outbox keeps
 * the rows and the relay retries: nothing is lost.
 */

/** Entry fields: the payload as JSON, and the outbox row id when it came through the outbox. */
export const EntryField = { payload: "payload", outboxId: "outbox_id" } as const;

export interface RawEntry {
  id: string;
  fields: Record<string, string>;
}

export type DecodedPayload<T> = { ok: true; payload: T } | { ok: false; error: string };

/**
 * Reads an entry's payload and checks it against `schema`. Never throws: an entry without a
 * payload, with one that is not JSON, or with one its stream's schema refuses, comes back with a
 * short reason for the dead letter.
 */
export function decodePayload<T>(entry: RawEntry, schema: z.ZodType<T>): DecodedPayload<T> {
  const text = entry.fields[EntryField.payload];
  if (text === undefined) return { ok: false, error: "entry has no payload field" };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `payload is not JSON: ${errorMessage(err)}` };
  }
  const parsed = schema.safeParse(json);
  return parsed.success ? { ok: true, payload: parsed.data } : { ok: false, error: summariseIssues(parsed.error) };
}

/** Zod's complaints in one short line: `seat_id: Invalid input: expected number, received string; …`. */
export function summariseIssues(error: z.ZodError, max = 5): string {
  const parts = error.issues.slice(0, max).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join(".") : "payload";
    return `${where}: ${issue.message}`;
  });
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join("; ");
}

export interface PublishOptions {
  /** Lets consumers recognise a re-published row (the relay is at-least-once). */
  outboxId?: number | string;
  client?: Redis;
}

/**
 * Appends one entry and returns its id. Code that changes PostgreSQL should not call this after
 * COMMIT: write the outbox row in the transaction instead (outbox.ts), so the event can
 * never be lost; direct publishing is for the relay and for tests.
 */
export async function publish(stream: string, payload: unknown, opts: PublishOptions = {}): Promise<string> {
  const client = opts.client ?? redis;
  const id = await client.xadd(stream, "*", ...entryFields(payload, opts.outboxId));
  return id as string;
}

/** An entry's fields: the payload as JSON, and the outbox id when it came from the outbox. */
export function entryFields(payload: unknown, outboxId?: number | string): string[] {
  const fields: string[] = [EntryField.payload, JSON.stringify(payload)];
  if (outboxId !== undefined) fields.push(EntryField.outboxId, String(outboxId));
  return fields;
}

/** Creates the consumer group (and the stream) if missing; safe to call from every replica. */
export async function ensureGroup(stream: string, group: string, client: Redis = redis): Promise<void> {
  try {
    // Start at "0", not "$": entries the relay published before the first worker started still count.
    await client.xgroup("CREATE", stream, group, "0", "MKSTREAM");
  } catch (err) {
    if (!(err instanceof Error && err.message.startsWith("BUSYGROUP"))) throw err;
  }
}

/**
 * Trims entries that are older than `keepMs` and that every consumer group is done with: read
 * (at or before its last-delivered id) and acknowledged (before its oldest pending entry). A
 * lagging or stopped worker therefore loses nothing. With no group at all, trims by age alone.
 * For the maintenance worker; never on a request path. Returns how many entries went.
 */
export async function trimConsumedEntries(stream: string, keepMs: number, client: Redis = redis): Promise<number> {
  if ((await client.exists(stream)) === 0) return 0;
  let bound = `${Date.now() - keepMs}-0`;
  const groups = (await client.xinfo("GROUPS", stream)) as unknown as (string | number)[][];
  for (const flat of groups) {
    const info = fieldsToRecord(flat.map(String));
    const lastDelivered = info["last-delivered-id"] ?? "0-0";
    const [count, oldestPending] = (await client.xpending(stream, String(info.name))) as unknown as [
      number,
      string | null,
    ];
    bound = minStreamId(bound, lastDelivered);
    if (Number(count) > 0 && oldestPending) bound = minStreamId(bound, oldestPending);
  }
  // MINID removes ids strictly below the bound. Exact, not "~": approximate trimming only drops
  // whole internal nodes (100 entries), and this runs rarely.
  return client.xtrim(stream, "MINID", bound);
}

/** Orders stream ids ("ms-seq") numerically; string order is wrong ("9-0" > "10-0"). */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split("-").map(BigInt);
  const [bm = 0n, bs = 0n] = b.split("-").map(BigInt);
  if (am !== bm) return am < bm ? -1 : 1;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

export const minStreamId = (a: string, b: string): string => (compareStreamIds(a, b) <= 0 ? a : b);

/** `[k1, v1, k2, v2, …]` → `{k1: v1, …}`. */
export function fieldsToRecord(fields: readonly string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i] as string] = fields[i + 1] as string;
  return record;
}

/**
 * Parses the XRANGE-shaped list that XRANGE, XCLAIM, XAUTOCLAIM and XREADGROUP return. Entries
 * whose fields are nil (deleted from the stream while pending, Redis < 7) are skipped.
 */
export function parseEntries(reply: unknown): RawEntry[] {
  if (!Array.isArray(reply)) return [];
  const entries: RawEntry[] = [];
  for (const item of reply) {
    if (!Array.isArray(item) || typeof item[0] !== "string" || !Array.isArray(item[1])) continue;
    entries.push({ id: item[0], fields: fieldsToRecord(item[1] as string[]) });
  }
  return entries;
}

/** Reads a whole stream (tests and admin tools; streams can be long, so not for hot paths). */
export async function readStream(stream: string, client: Redis = redis): Promise<RawEntry[]> {
  return parseEntries(await client.xrange(stream, "-", "+"));
}

const warnLag = throttledWarn(60_000, "stream backlog above STREAM_LAG_ALERT: a consumer is down or too slow");

/**
 * Sets the lag and pending gauges of a stream's consumer groups from XINFO GROUPS (all groups,
 * or only `group`). Used by each consumer for its own group and by /metrics for all of them.
 */
export async function recordGroupBacklogs(stream: string, group?: string, client: Redis = redis): Promise<void> {
  if ((await client.exists(stream)) === 0) return;
  const groups = (await client.xinfo("GROUPS", stream)) as unknown as (string | number | null)[][];
  for (const flat of groups) {
    const info = fieldsToRecord(flat.map((v) => String(v)));
    if (group !== undefined && info.name !== group) continue;
    const labels = { stream, group: String(info.name) };
    const backlog = info.lag !== undefined && info.lag !== "null" ? Number(info.lag) : undefined;
    if (backlog !== undefined) streamGroupLag.set(labels, backlog);
    streamGroupPending.set(labels, Number(info.pending));
    const unhandled = (backlog ?? 0) + Number(info.pending);
    const alarming = unhandled >= config.STREAM_LAG_ALERT;
    streamGroupLagAlert.set(labels, alarming ? 1 : 0);
    if (alarming) warnLag({ stream, group: labels.group, unhandled, threshold: config.STREAM_LAG_ALERT });
  }
}
