import type Redis from "ioredis";
import { config } from "../config";
import { errorMessage } from "../platform/error-message";
import { throttledWarn } from "../platform/logger";
import { cacheFallbacks, cacheLoads, cacheMisses, countCacheHit } from "../platform/metrics";
import { redis } from "../platform/redis";
import { RedisBreaker } from "../platform/redis-breaker";
import { ValueBuilder } from "./builder";
import { CacheCoherence } from "./coherence";
import { VERSION_TTL_MS, VersionBumps } from "./invalidations";
import {
  type CacheEntry,
  type CacheKeys,
  type CacheScope,
  cacheKeysOf,
  decodeValue,
  type Json,
  NOTHING,
  serialize,
  versionKeyOf,
} from "./keys";
import { LocalTier } from "./local-tier";
import { bumpedAtKeyOf, type CacheScripts, freshVersion, withCacheScripts } from "./scripts";
import { FreshFlight, SingleFlight } from "./single-flight";

/**
 * Read-through cache in Redis (design: README.md beside this file, docs/caching.md).
 *
 * A scope is what one invalidation covers: a namespace ("events:list") or one entity in it
 * ({namespace: "event", entity: 42}). Each scope has a version counter; every cached value is
 * stored with the version it was built for, and a read uses it only if that is still the current
 * version. Invalidating is one INCR, after COMMIT; stale values are simply never used again and
 * expire on their own, so no KEYS/SCAN is ever needed. The version is read before the loader runs,
 * so a value built from a snapshot older than an invalidation is always tagged as stale.
 *
 * Each process keeps recent values in memory too. A copy is served without asking Redis only while
 * coherence.ts vouches that no invalidation of its scope can have been missed; otherwise one
 * version read (shared by a burst of readers) decides.
 *
 * Redis is an accelerator only: when it is down, slow or unsure, reads go to the loader and errors
 * are logged (rate-limited), never thrown.
 */

export type { CacheEntry, CacheScope, Json } from "./keys";

export interface CacheOptions {
  client: Redis;
  /** How long one builder holds a key's rebuild lock (should exceed the slowest loader). */
  lockTtlMs?: number;
  /** How long others wait for that builder before loading themselves. */
  lockWaitMs?: number;
  /** How long a reader trusts its in-process tier without hearing from Redis (coherence.ts). */
  leaseMs?: number;
  /** CACHE_HOT_SCOPE_MS for this cache (coherence.ts); every process must use the same value. */
  hotScopeMs?: number;
  /** In-process tier size; 0 turns it off. */
  localEntries?: number;
  localChars?: number;
  /** Larger values are served but stored nowhere (default CACHE_MAX_VALUE_BYTES). */
  maxValueBytes?: number;
}

interface VersionRead {
  version: string;
  raw?: string;
  /** This read started the scope's counter (it had none). */
  started: boolean;
  /** Tag for an in-process copy at this version; undefined: do not trust it without asking Redis. */
  epoch?: number;
}

export class Cache {
  private readonly client: Redis & CacheScripts;
  private readonly local: LocalTier;
  private readonly flights = new SingleFlight<string>();
  private readonly offline = new FreshFlight<string>();
  private readonly versionReads = new FreshFlight<{ version: string; raw?: string; started: boolean; age: number }>();
  private readonly builder: ValueBuilder;
  private readonly bumps: VersionBumps;
  private readonly coherence: CacheCoherence;
  private readonly breaker: RedisBreaker;
  private readonly warnRedis = throttledWarn(5_000, "cache: redis unavailable, reading from the source");

  constructor(options: CacheOptions) {
    this.client = withCacheScripts(options.client);
    // A hung Redis costs one command timeout, then calls fail at once until it answers again.
    this.breaker = RedisBreaker.of(this.client);
    this.local = new LocalTier(options.localEntries ?? 2_000, options.localChars ?? 32 * 1024 * 1024);
    const onRedisError = (err: unknown, op: string) => this.redisFailed(err, op);
    this.builder = new ValueBuilder(
      this.client,
      this.local,
      options.lockTtlMs ?? 3_000,
      options.lockWaitMs ?? 1_000,
      options.maxValueBytes ?? config.CACHE_MAX_VALUE_BYTES,
      onRedisError,
    );
    this.coherence = new CacheCoherence(this.client, options.leaseMs, undefined, options.hotScopeMs);
    this.bumps = new VersionBumps(this.client, this.coherence, onRedisError);
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
    const keys = cacheKeysOf(entry);
    const namespace = entry.namespace;
    const load = () => {
      cacheLoads.inc({ namespace });
      return loadText();
    };
    if (!this.redisUsable(keys.version)) return this.fallback(namespace, keys, load);
    const memory = this.fromMemory(namespace, keys);
    if (memory !== undefined) return memory as Json<T>;
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
      countCacheHit(namespace, false);
      local.epoch = epoch;
      return local.json as Json<T>;
    }
    const stored = raw === undefined ? undefined : decodeValue(raw);
    if (stored && stored.version === version) {
      countCacheHit(namespace, false);
      this.local.set(keys.value, { ...stored, epoch });
      return stored.json as Json<T>;
    }
    cacheMisses.inc({ namespace });
    const stale = stored?.json ?? local?.json;
    // Keyed by version: a caller may join a rebuild that started before it asked, because that
    // rebuild read the same version, i.e. after every invalidation this caller could know about.
    const built = await this.flights.run(`${keys.value}@${version}`, () =>
      this.builder.rebuild({ entry, keys, version, epoch }, stale, load),
    );
    // Nothing there, and the counter is ours: take it back (unless a write has moved it since),
    // so a read of an id that does not exist leaves no key (keys.ts, NOTHING).
    if (built === NOTHING && read.started) {
      this.client.evCacheRelease(keys.version, version).catch((err) => this.redisFailed(err, "forget version"));
    }
    return built as Json<T>;
  }

  /**
   * The scope's current version (and the stored value when our copy is not at that version).
   * Concurrent readers of one key share a read, but only one that starts after they asked
   * (FreshFlight): one Redis round trip serves a burst, and read-after-write still holds.
   */
  private async readVersion(keys: CacheKeys): Promise<VersionRead> {
    let sentEpoch = -1;
    const { version, raw, started, age } = await this.versionReads.run(keys.value, async () => {
      sentEpoch = this.coherence.epoch;
      const ours = this.local.get(keys.value)?.version ?? "";
      const initial = freshVersion();
      const [v, age, value] = await this.client.evCacheRead(
        keys.version,
        keys.value,
        bumpedAtKeyOf(keys.version),
        ours,
        initial,
        VERSION_TTL_MS,
      );
      return { version: v, raw: value, started: v === initial, age: Number(age) };
    });
    return { version, raw, started, epoch: this.coherence.observe(keys.version, version, sentEpoch, age) };
  }

  /** Rebuilds and stores a value now, whatever is cached (the cache warmer's entry point). */
  async refresh<T>(entry: CacheEntry, loader: () => Promise<T>): Promise<Json<T>> {
    const keys = cacheKeysOf(entry);
    const load = () => serialize(loader);
    if (!this.redisUsable(keys.version)) return (await load()) as Json<T>;
    try {
      const [version] = await this.client.evCacheRead(
        keys.version,
        keys.value,
        bumpedAtKeyOf(keys.version),
        "*",
        freshVersion(),
        VERSION_TTL_MS,
      );
      return (await this.builder.loadAndStore({ entry, keys, version, epoch: undefined }, load)) as Json<T>;
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

  /** The common case: a copy every invalidation would have reached us about (no Redis call). */
  private fromMemory(namespace: string, keys: CacheKeys): string | undefined {
    const known = this.local.get(keys.value);
    if (!known || !this.coherence.trusts(keys.version, known.version, known.epoch)) return undefined;
    countCacheHit(namespace, true);
    return known.json;
  }

  private redisUsable(versionKey: string): boolean {
    return this.breaker.usable && !this.bumps.isPending(versionKey);
  }

  private fallback(namespace: string, keys: CacheKeys, load: () => Promise<string>): Promise<Json<never>> {
    cacheFallbacks.inc({ namespace });
    return this.offline.run(keys.value, load) as Promise<Json<never>>;
  }

  private redisFailed(err: unknown, op: string): void {
    this.warnRedis({ err: errorMessage(err), op });
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
