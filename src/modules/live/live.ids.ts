import { errorMessage } from "../../platform/error-message";
import { redis } from "../../platform/redis";

export type StreamId = readonly [ms: number, seq: number];
export const ZERO_ID: StreamId = [0, 0];
const STREAM_ID = /^(\d{1,16})-(\d{1,16})$/;

export function parseId(id: string): StreamId | undefined {
  const m = STREAM_ID.exec(id);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}
export const cmpId = (a: StreamId, b: StreamId) => (a[0] !== b[0] ? a[0] - b[0] : a[1] - b[1]);
export const idText = (id: StreamId) => `${id[0]}-${id[1]}`;

// As in src/messaging/live.ts: a stream nobody writes to for a day expires.
const STREAM_TTL_MS = 24 * 3_600_000;

export function pairs(fields: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) out.push([fields[i] as string, fields[i + 1] as string]);
  return out;
}

/**
 * Whether trimming (approximate MAXLEN) removed no entry after `from`: nothing was ever trimmed,
 * or the client has seen the oldest entry still kept, or it has seen the last one ever added.
 * Trimmed entries are all older than the first one kept; a missing stream (expired) holds nothing.
 */
export async function streamHoldsEverythingAfter(key: string, from: StreamId): Promise<boolean> {
  // A stream idle for its whole TTL may have expired and started again: older ids resume nothing.
  if (from[0] < Date.now() - STREAM_TTL_MS + 3_600_000) return false;
  const info = await streamInfo(key);
  if (!info) return false;
  if (info.entriesAdded - info.length === 0) return true;
  if (info.length > 0 && info.first && cmpId(from, info.first) >= 0) return true;
  return cmpId(from, info.lastGenerated) >= 0;
}

export interface StreamInfo {
  length: number;
  entriesAdded: number;
  first?: StreamId;
  lastGenerated: StreamId;
}

/** XINFO STREAM (Redis 7: entries-added, recorded-first-entry-id), or undefined without a stream. */
export async function streamInfo(key: string): Promise<StreamInfo | undefined> {
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
