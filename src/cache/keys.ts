import { createHash } from "node:crypto";

/** Key naming and value encoding of the Redis cache (cache.ts). */

export interface CacheScope {
  /** A fixed name chosen in code ("event", "events:list", "analytics"); also the metrics label. */
  namespace: string;
  /** An entity inside the namespace: its own version counter and Redis Cluster hash tag. */
  entity?: string | number;
}

export interface CacheEntry extends CacheScope {
  /** Which value inside the scope: "doc", "seats:ALL", a canonical list query, ... */
  key: string;
  /** Upper bound of the value's age when nothing invalidates it (the stored TTL is up to 10 % shorter). */
  ttlSeconds: number;
  /**
   * While another process rebuilds the value, answer with the previous (invalidated or expired)
   * one instead of waiting. Only for data where a few seconds of staleness are fine (analytics).
   */
  allowStale?: boolean;
}

declare const jsonOf: unique symbol;
/** JSON text known to encode a T: handlers send it as-is (no re-serialising) and still type-check. */
export type Json<T> = string & { readonly [jsonOf]: T };

/** A cached value and the version of its scope it was built for. */
export interface StoredValue {
  version: string;
  expiresAt: number;
  json: string;
  /** In-process only: the coherence epoch in which `version` was confirmed current (see coherence.ts). */
  epoch?: number;
}

const KEY_PREFIX = "cache";
// Part of every value key: bump it when a cached shape changes, and old values are never read again.
const FORMAT = "f1";
const MAX_TTL_SECONDS = 24 * 3600;
const TTL_JITTER = 0.1;
const NAME_RE = /^[A-Za-z0-9:_.-]{1,64}$/;

// Braces would break the Redis Cluster hash tag, so names are checked (they come from code).
function scopeTag(scope: CacheScope): string {
  if (!NAME_RE.test(scope.namespace)) throw new Error(`bad cache namespace: ${scope.namespace}`);
  if (scope.entity === undefined) return `{${scope.namespace}}`;
  const entity = String(scope.entity);
  if (!NAME_RE.test(entity)) throw new Error(`bad cache entity: ${entity}`);
  return `{${scope.namespace}:${entity}}`;
}

/** `cache:{event:42}:v` — the scope's version counter. */
export function versionKeyOf(scope: CacheScope): string {
  return `${KEY_PREFIX}:${scopeTag(scope)}:v`;
}

/** `cache:{event:42}:f1:doc` — one value; long keys (list queries) are hashed. */
export function valueKeyOf(entry: CacheEntry): string {
  const key = entry.key.length > 200 ? createHash("sha256").update(entry.key).digest("hex") : entry.key;
  return `${KEY_PREFIX}:${scopeTag(entry)}:${FORMAT}:${key}`;
}

/** The two Redis keys a read needs: the scope's version counter and the value. */
export interface CacheKeys {
  version: string;
  value: string;
}

export const cacheKeysOf = (entry: CacheEntry): CacheKeys => ({
  version: versionKeyOf(entry),
  value: valueKeyOf(entry),
});

/** The rebuild lock of one value at one version. */
export function lockKeyOf(valueKey: string, version: string): string {
  return `${valueKey}:lock:${version}`;
}

// Stored as "<version>\n<expires at ms>\n<json>" so one GET returns the tag and the text together.
export function encodeValue(value: StoredValue): string {
  return `${value.version}\n${value.expiresAt}\n${value.json}`;
}

export function decodeValue(raw: string): StoredValue | undefined {
  const a = raw.indexOf("\n");
  const b = a < 0 ? -1 : raw.indexOf("\n", a + 1);
  if (b < 0) return undefined;
  return { version: raw.slice(0, a), expiresAt: Number(raw.slice(a + 1, b)), json: raw.slice(b + 1) };
}

/** Up to 10 % shorter than asked, so values built together do not all expire in the same instant. */
export function jitteredTtlMs(ttlSeconds: number): number {
  if (!(ttlSeconds > 0 && ttlSeconds <= MAX_TTL_SECONDS)) throw new Error(`bad cache ttl: ${ttlSeconds}`);
  return Math.max(1, Math.round(ttlSeconds * 1000 * (1 - TTL_JITTER * Math.random())));
}

/** Runs a loader and encodes its value as JSON text; a loader must return a JSON value. */
export async function serialize(loader: () => Promise<unknown>): Promise<string> {
  const json = JSON.stringify(await loader());
  if (json === undefined) throw new TypeError("cache loaders must return a JSON value (use null for nothing)");
  return json;
}
