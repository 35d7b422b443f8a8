import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import { throttledWarn } from "../infra/logger";
import { cacheFallbacks, cacheHits, cacheLoads, cacheLocalHits, cacheMisses } from "../infra/metrics";
import { redis } from "../infra/redis";
import { CacheCoherence } from "./cache-coherence";
import { VERSION_TTL_MS, VersionBumps } from "./cache-invalidations";
import {
  type CacheEntry,
  type CacheScope,
  decodeValue,
  encodeValue,
  type Json,
  jitteredTtlMs,
  lockKeyOf,
  type StoredValue,
  serialize,
  valueKeyOf,
  versionKeyOf,
} from "./cache-keys";
import { waitForBuilder } from "./cache-builder";
import { LocalTier } from "./cache-local";
import { type CacheScripts, freshVersion, withCacheScripts } from "./cache-scripts";
import { FreshFlight, SingleFlight } from "./single-flight";

/**
 * Read-through cache in Redis (see README "Caching").
 *
 * A scope is what one invalidation covers: a namespace ("events:list") or one entity in it
 * ({namespace: "event", entity: 42}). Each scope has a version counter; every cached value is
 * stored with the version it was built for, and a read uses it only if that is still the current
 * version. Invalidating is one INCR, after COMMIT; stale values are simply never used again and
 * expire on their own, so no KEYS/SCAN is ever needed. The version is read before the loader runs,
 * so a value built from a snapshot older than an invalidation is always tagged as stale.
 *
 * Each process keeps recent values in memory too. A copy is served without asking Redis only while
 * cache-coherence.ts vouches that no invalidation of its scope can have been missed; otherwise one
 * version read (shared by a burst of readers) decides.
 *
 * Redis is an accelerator only: when it is down, slow or unsure, reads go to the loader and errors
 * are logged (rate-limited), never thrown.
 */

export type { CacheEntry, CacheScope, Json } from "./cache-keys";

export interface CacheOptions {
  client: Redis;
  /** How long one builder holds a key's rebuild lock (should exceed the slowest loader). */
  lockTtlMs?: number;
  /** How long others wait for that builder before loading themselves. */
  lockWaitMs?: number;
  /** After a Redis error, how long to skip Redis entirely (so each call does not pay a timeout). */
  breakerMs?: number;
  /** How long a reader trusts its in-process tier without hearing from Redis (cache-coherence.ts). */
  leaseMs?: number;
  /** In-process tier size; 0 turns it off. */
  localEntries?: number;
  localChars?: number;
}

interface Keys {
  version: string;
  value: string;
}

interface VersionRead {
  version: string;
  raw?: string;
  /** Tag for an in-process copy at this version; undefined: do not trust it without asking Redis. */
  epoch?: number;
}

interface Lock {
  key: string;
  token: string;
}

export class Cache {
  private readonly client: Redis & CacheScripts;
  private readonly local: LocalTier;
  private readonly flights = new SingleFlight<string>();
  private readonly offline = new FreshFlight<string>();
  private readonly versionReads = new FreshFlight<[string, string?]>();
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;
  private readonly breakerMs: number;
  private readonly bumps: VersionBumps;
  private readonly coherence: CacheCoherence;
  private breakerUntil = 0;
  private readonly warnRedis = throttledWarn(5_000, "cache: redis unavailable, reading from the source");

  constructor(options: CacheOptions) {
    this.client = withCacheScripts(options.client);
    this.lockTtlMs = options.lockTtlMs ?? 3_000;
    this.lockWaitMs = options.lockWaitMs ?? 1_000;
    this.breakerMs = options.breakerMs ?? 1_000;
    this.local = new LocalTier(options.localEntries ?? 2_000, options.localChars ?? 32 * 1024 * 1024);
    this.coherence = new CacheCoherence(this.client, options.leaseMs);
    this.bumps = new VersionBumps(this.client, this.coherence, (err, op) => this.redisFailed(err, op));
    // A fresh connection is better evidence than an old timeout: use Redis again at once.
    this.client.on("ready", () => {
      this.breakerUntil = 0;
    });
  }

  /** The cached value, parsed; on a miss `loader` runs (once per key across processes) and is stored. */
  async getOrLoad<T>(entry: CacheEntry, loader: () => Promise<T>): Promise<T> {
    return JSON.parse(await this.getOrLoadJson(entry, loader)) as T;
  }

  /** Like getOrLoad, but returns the stored JSON text itself, ready to be sent as a response body. */
  async getOrLoadJson<T>(entry: CacheEntry, loader: () => Promise<T>): Promise<Json<T>> {
    return this.getOrLoadText<T>(entry, () => serialize(loader));
  }

  /** Like getOrLoadJson for a loader that already returns JSON text (e.g. built by PostgreSQL). */
  async getOrLoadText<T>(entry: CacheEntry, loadText: () => Promise<string>): Promise<Json<T>> {
    const keys = { version: versionKeyOf(entry), value: valueKeyOf(entry) };
    const namespace = entry.namespace;
    const load = () => {
      cacheLoads.inc({ namespace });
      return loadText();
    };
    if (!this.redisUsable(keys.version)) return this.fallback(namespace, keys, load);
    const known = this.local.get(keys.value);
    // The common case: a copy every invalidation would have reached us about (no Redis call).
    if (known && this.coherence.trusts(keys.version, known.version, known.epoch)) {
      cacheHits.inc({ namespace });
      cacheLocalHits.inc({ namespace });
      return known.json as Json<T>;
    }
    this.coherence.startReading();

    let read: VersionRead;
    try {
      read = await this.readVersion(keys);
    } catch (err) {
      this.redisFailed(err, "read");
      return this.fallback(namespace, keys, load);
    }
    const { version, raw, epoch } = read;
    const local = this.local.get(keys.value);
    if (local && local.version === version) {
      cacheHits.inc({ namespace });
      local.epoch = epoch;
      return local.json as Json<T>;
    }
    const stored = raw === undefined ? undefined : decodeValue(raw);
    if (stored && stored.version === version) {
      cacheHits.inc({ namespace });
      this.local.set(keys.value, { ...stored, epoch });
      return stored.json as Json<T>;
    }
    cacheMisses.inc({ namespace });
    const stale = stored?.json ?? local?.json;
    // Keyed by version: a caller may join a rebuild that started before it asked, because that
    // rebuild read the same version, i.e. after every invalidation this caller could know about.
    const built = await this.flights.run(`${keys.value}@${version}`, () =>
      this.rebuild(entry, keys, version, epoch, stale, load),
    );
    return built as Json<T>;
  }

  /**
   * The scope's current version (and the stored value when our copy is not at that version).
   * Concurrent readers of one key share a read, but only one that starts after they asked
   * (FreshFlight): one Redis round trip serves a burst, and read-after-write still holds.
   */
  private async readVersion(keys: Keys): Promise<VersionRead> {
    let sentEpoch = -1;
    const [version, raw] = await this.versionReads.run(keys.value, () => {
      sentEpoch = this.coherence.epoch;
      const ours = this.local.get(keys.value)?.version ?? "";
      return this.client.evCacheRead(keys.version, keys.value, ours, freshVersion(), VERSION_TTL_MS);
    });
    return { version, raw, epoch: this.coherence.observe(keys.version, version, sentEpoch) };
  }

  /** Rebuilds and stores a value now, whatever is cached (the cache warmer's entry point). */
  async refresh<T>(entry: CacheEntry, loader: () => Promise<T>): Promise<Json<T>> {
    const keys = { version: versionKeyOf(entry), value: valueKeyOf(entry) };
    const load = () => serialize(loader);
    if (!this.redisUsable(keys.version)) return (await load()) as Json<T>;
    try {
      const [version] = await this.client.evCacheRead(keys.version, keys.value, "*", freshVersion(), VERSION_TTL_MS);
      return (await this.loadAndStore(entry, keys, version, undefined, load)) as Json<T>;
    } catch (err) {
      this.redisFailed(err, "refresh");
      return (await load()) as Json<T>;
    }
  }

  /**
   * Makes every value of these scopes stale, for all processes. Call after COMMIT and await it
   * before answering, so that a reader who saw the answer cannot get an older value. Never throws:
   * if Redis cannot be reached the bump is retried in the background, and meanwhile this process
   * reads those scopes from the loader.
   */
  async invalidate(...scopes: CacheScope[]): Promise<void> {
    await Promise.all(scopes.map((scope) => this.bumps.bump(versionKeyOf(scope))));
  }

  /** Number of invalidations still waiting for Redis (for tests and diagnostics). */
  get pendingInvalidations(): number {
    return this.bumps.size;
  }

  /** Forgets the in-process tier (tests; never needed for correctness). */
  clearLocal(): void {
    this.local.clear();
  }

  private redisUsable(versionKey: string): boolean {
    return this.client.status === "ready" && Date.now() >= this.breakerUntil && !this.bumps.isPending(versionKey);
  }

  private fallback(namespace: string, keys: Keys, load: () => Promise<string>): Promise<Json<never>> {
    cacheFallbacks.inc({ namespace });
    return this.offline.run(keys.value, load) as Promise<Json<never>>;
  }

  private async rebuild(
    entry: CacheEntry,
    keys: Keys,
    version: string,
    epoch: number | undefined,
    stale: string | undefined,
    load: () => Promise<string>,
  ): Promise<string> {
    const lock: Lock = { key: lockKeyOf(keys.value, version), token: randomUUID() };
    let locked: boolean;
    try {
      locked = (await this.client.set(lock.key, lock.token, "PX", this.lockTtlMs, "NX")) === "OK";
    } catch (err) {
      this.redisFailed(err, "lock");
      return this.loadAndStore(entry, keys, version, epoch, load);
    }
    if (locked) return this.loadAndStore(entry, keys, version, epoch, load, lock);
    if (entry.allowStale && stale !== undefined) return stale;
    const built = await waitForBuilder(this.client, keys.value, lock.key, version, this.lockWaitMs).catch((err) => {
      this.redisFailed(err, "wait");
      return undefined;
    });
    if (!built) return this.loadAndStore(entry, keys, version, epoch, load);
    this.local.set(keys.value, { ...built, epoch });
    return built.json;
  }

  private async loadAndStore(
    entry: CacheEntry,
    keys: Keys,
    version: string,
    epoch: number | undefined,
    load: () => Promise<string>,
    lock?: Lock,
  ): Promise<string> {
    let json: string;
    try {
      json = await load();
    } catch (err) {
      // Errors are never cached; free the lock so waiters elsewhere stop waiting for us.
      if (lock) this.client.evCacheRelease(lock.key, lock.token).catch((e) => this.redisFailed(e, "release"));
      throw err;
    }
    const ttlMs = jitteredTtlMs(entry.ttlSeconds);
    const stored: StoredValue = { version, expiresAt: Date.now() + ttlMs, json };
    this.local.set(keys.value, { ...stored, epoch });
    if (this.client.status === "ready") {
      // Not awaited: the caller has its answer; commands on one connection keep their order, so
      // this process's next read already sees the write.
      this.client
        .evCacheStore(
          keys.version,
          keys.value,
          lock?.key ?? lockKeyOf(keys.value, version),
          version,
          encodeValue(stored),
          ttlMs,
          lock?.token ?? "",
        )
        .catch((err) => this.redisFailed(err, "store"));
    }
    return json;
  }

  private redisFailed(err: unknown, op: string): void {
    this.breakerUntil = Date.now() + this.breakerMs;
    this.warnRedis({ err: err instanceof Error ? err.message : String(err), op });
  }
}

/** The process-wide cache on the shared request-path Redis client. */
export const cache = new Cache({ client: redis });

export const getOrLoad = <T>(entry: CacheEntry, loader: () => Promise<T>): Promise<T> => cache.getOrLoad(entry, loader);
export const getOrLoadJson = <T>(entry: CacheEntry, loader: () => Promise<T>): Promise<Json<T>> =>
  cache.getOrLoadJson(entry, loader);
export const getOrLoadText = <T>(entry: CacheEntry, load: () => Promise<string>): Promise<Json<T>> =>
  cache.getOrLoadText<T>(entry, load);
export const refresh = <T>(entry: CacheEntry, loader: () => Promise<T>): Promise<Json<T>> =>
  cache.refresh(entry, loader);
export const invalidate = (...scopes: CacheScope[]): Promise<void> => cache.invalidate(...scopes);
