import { z } from "zod";
import { config } from "../config";
import { errorMessage } from "../platform/error-message";
import { throttledWarn } from "../platform/logger";
import { isRedisReady, redis } from "../platform/redis";

/**
 * Live seat changes (docs/live.md): after COMMIT, the process that changed seats appends them to
 * the event's Redis stream `{event:<id>}:live`; every API process with subscribers for the event
 * reads that stream and fans the changes out over Server-Sent Events. The stream's entry ids are
 * the SSE ids (monotonic per event, the same in every process), and its approximate MAXLEN is the
 * window Last-Event-ID can resume from. Publishing is fire-and-forget: nothing on the booking path
 * waits for it, and a change lost here (Redis down, the process dying after COMMIT) is repaired
 * by the subscribers' periodic reconcile against PostgreSQL.
 */

export type SeatStatusName = "AVAILABLE" | "HELD" | "BOOKED";

/** One seat's new state. `version` is seats.version after the change (bumped by a trigger). */
export interface SeatChange {
  eventId: number;
  seatNumber: number;
  status: SeatStatusName;
  /** Unknown when the changing SQL did not return it: subscribers read it from PostgreSQL. */
  version?: number;
}

/** Control entries: the seat set changed (capacity) or the event is gone. */
export type LiveControl = "resync" | "deleted";

export const STATUS_CHAR: Record<SeatStatusName, "A" | "H" | "B"> = { AVAILABLE: "A", HELD: "H", BOOKED: "B" };

/** The event's live stream key (hash-tagged like every per-event key, for Redis Cluster). */
export const liveStreamKey = (eventId: number) => `{event:${eventId}}:live`;

/** [seat_number, "A" | "H" | "B", version (-1: unknown)] */
const changeTuple = z.tuple([z.number().int().positive(), z.enum(["A", "H", "B"]), z.number().int().min(-1)]);
export type ChangeTuple = z.infer<typeof changeTuple>;

/** A stream entry: `c` (JSON list of change tuples) or `k` (a control word). */
export const liveEntry = z.union([
  z.object({ c: z.string().transform((s, ctx) => parseChanges(s, ctx)) }),
  z.object({ k: z.enum(["resync", "deleted"]) }),
]);
export type LiveEntry = z.output<typeof liveEntry>;

function parseChanges(s: string, ctx: z.RefinementCtx): ChangeTuple[] {
  try {
    return z.array(changeTuple).parse(JSON.parse(s));
  } catch (err) {
    ctx.addIssue({ code: "custom", message: errorMessage(err) });
    return z.NEVER;
  }
}

// Streams of events nobody changes for a day go away; a resume from before that gets a snapshot.
const STREAM_TTL_MS = 24 * 3_600_000;

const warnPublish = throttledWarn(5_000, "live change not published (reconcile will repair it)");

// The append and the stream's TTL in one atomic call (one command instead of MULTI, XADD, PEXPIRE,
// EXEC). KEYS: the stream. ARGV: approximate MAXLEN, field, value, TTL (ms).
const APPEND_LUA = `
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`;
redis.defineCommand("eventlyLiveAppend", { numberOfKeys: 1, lua: APPEND_LUA });
const liveRedis = redis as unknown as {
  eventlyLiveAppend(key: string, maxLen: string, field: string, value: string, ttlMs: number): Promise<number>;
};

/** Appends one entry to an event's live stream. Resolves when Redis has it; rejects on failure. */
export async function appendLiveEntry(
  eventId: number,
  fields: { c: ChangeTuple[] } | { k: LiveControl },
): Promise<void> {
  const [name, value] = "c" in fields ? ["c", JSON.stringify(fields.c)] : ["k", fields.k];
  await liveRedis.eventlyLiveAppend(
    liveStreamKey(eventId),
    String(config.LIVE_RESUME_ENTRIES),
    name,
    value,
    STREAM_TTL_MS,
  );
}

// Changes published in one turn of the event loop, by event: under load many bookings answer in
// the same turn, and one stream entry (one script call) then carries all of an event's changes
// instead of one call per booking.
const queued = new Map<number, ChangeTuple[]>();
let flushScheduled = false;

function flushQueued(): void {
  flushScheduled = false;
  const batches = [...queued];
  queued.clear();
  for (const [eventId, c] of batches) {
    appendLiveEntry(eventId, { c }).catch((err) => warnPublish({ err: errorMessage(err), event_id: eventId }));
  }
}

/**
 * Queues changes for their events' streams, appended at the end of this turn of the event loop
 * (one entry per event for everything queued in the turn). Never throws, never waits for
 * subscribers.
 */
export function publishSeatChanges(changes: readonly SeatChange[]): void {
  if (changes.length === 0) return;
  if (!isRedisReady()) {
    warnPublish({ err: `redis is ${redis.status}`, changes: changes.length });
    return;
  }
  for (const ch of changes) {
    const list = queued.get(ch.eventId) ?? [];
    queued.set(ch.eventId, list);
    list.push([ch.seatNumber, STATUS_CHAR[ch.status], ch.version ?? -1]);
  }
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushQueued);
  }
}

/** Tells every subscriber of the event that its seat set changed, or that it was deleted. */
export function publishLiveControl(eventId: number, kind: LiveControl): void {
  if (!isRedisReady()) {
    warnPublish({ err: `redis is ${redis.status}`, event_id: eventId, control: kind });
    return;
  }
  appendLiveEntry(eventId, { k: kind }).catch((err) => warnPublish({ err: errorMessage(err), event_id: eventId }));
}
