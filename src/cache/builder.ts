import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import { cacheOversize } from "../platform/metrics";
import {
  type CacheEntry,
  type CacheKeys,
  decodeValue,
  encodeValue,
  jitteredTtlMs,
  lockKeyOf,
  NOTHING,
  type StoredValue,
} from "./keys";
import type { LocalTier } from "./local-tier";
import type { CacheScripts } from "./scripts";

/** A value to build: which one, and the scope version it is built for. */
export interface BuildTarget {
  entry: CacheEntry;
  keys: CacheKeys;
  version: string;
  /** Coherence tag for the in-process copy (undefined: never served without asking Redis). */
  epoch: number | undefined;
}

interface Lock {
  key: string;
  token: string;
}

/**
 * Stampede protection across processes: the first process to miss a value at a version takes its
 * rebuild lock (`SET NX PX`), loads and stores it; the others wait for what it stores (or answer
 * the previous value where the entry allows stale answers), and load themselves only if it gives
 * up or takes longer than `lockWaitMs`. Redis errors are reported to `onRedisError` and the value
 * is loaded anyway: Redis is an accelerator, never a reason to fail a read.
 */
export class ValueBuilder {
  constructor(
    private readonly client: Redis & CacheScripts,
    private readonly local: LocalTier,
    private readonly lockTtlMs: number,
    private readonly lockWaitMs: number,
    private readonly maxValueBytes: number,
    private readonly onRedisError: (err: unknown, op: string) => void,
  ) {}

  async rebuild(target: BuildTarget, stale: string | undefined, load: () => Promise<string>): Promise<string> {
    const lock: Lock = { key: lockKeyOf(target.keys.value, target.version), token: randomUUID() };
    let locked: boolean;
    try {
      locked = (await this.client.set(lock.key, lock.token, "PX", this.lockTtlMs, "NX")) === "OK";
    } catch (err) {
      this.onRedisError(err, "lock");
      return this.loadAndStore(target, load);
    }
    if (locked) return this.loadAndStore(target, load, lock);
    if (target.entry.allowStale && stale !== undefined) return stale;
    const built = await this.waitForBuilder(target, lock.key).catch((err) => {
      this.onRedisError(err, "wait");
      return undefined;
    });
    if (!built) return this.loadAndStore(target, load);
    this.local.set(target.keys.value, { ...built, epoch: target.epoch });
    return built.json;
  }

  /**
   * Loads the value and stores it in memory and (not awaited) in Redis, if still current there.
   * NOTHING is only returned (see keys.ts). A value over `maxValueBytes` is only returned too: copying megabytes to and from Redis on every
   * read costs more than building it, and the in-process tier would evict everything for it.
   */
  async loadAndStore(target: BuildTarget, load: () => Promise<string>, lock?: Lock): Promise<string> {
    const { keys, version } = target;
    let json: string;
    try {
      json = await load();
    } catch (err) {
      // Errors are never cached; free the lock so waiters elsewhere stop waiting for us.
      this.release(lock);
      throw err;
    }
    if (json === NOTHING) {
      this.release(lock);
      return json;
    }
    if (!this.fits(json)) {
      cacheOversize.inc({ namespace: target.entry.namespace });
      // Waiters elsewhere see the lock gone without a value and load for themselves.
      this.release(lock);
      return json;
    }
    const ttlMs = jitteredTtlMs(target.entry.ttlSeconds);
    const stored: StoredValue = { version, expiresAt: Date.now() + ttlMs, json };
    this.local.set(keys.value, { ...stored, epoch: target.epoch });
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
        .catch((err) => this.onRedisError(err, "store"));
    }
    return json;
  }

  private release(lock: Lock | undefined): void {
    if (lock) this.client.evCacheRelease(lock.key, lock.token).catch((e) => this.onRedisError(e, "release"));
  }

  /** UTF-8 takes at least one byte per UTF-16 unit and at most three: count bytes only when in doubt. */
  private fits(json: string): boolean {
    if (json.length > this.maxValueBytes) return false;
    return json.length * 3 <= this.maxValueBytes || Buffer.byteLength(json) <= this.maxValueBytes;
  }

  /**
   * The waiting side: poll (5 → 100 ms back-off) for what the lock holder stores. Undefined when it
   * gave up (lock gone without a value), lost a race with an invalidation, or took longer than
   * `lockWaitMs`. Throws on Redis errors.
   */
  private async waitForBuilder(target: BuildTarget, lockKey: string): Promise<StoredValue | undefined> {
    const deadline = Date.now() + this.lockWaitMs;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await Bun.sleep(Math.min(delay, left));
      const [raw, holder] = await this.client.mget(target.keys.value, lockKey);
      const stored = raw ? decodeValue(raw) : undefined;
      if (stored && stored.version === target.version) return stored;
      if (!holder) return undefined;
    }
  }
}
