import type Redis from "ioredis";
import { logger } from "../platform/logger";
import { execReplicated } from "../platform/redis";
import { RedisBreaker } from "../platform/redis-breaker";
import type { CacheCoherence } from "./coherence";
import { bumpedAtKeyOf, type CacheScripts, freshVersion } from "./scripts";

export const VERSION_TTL_MS = 24 * 3600 * 1000;
const RETRY_MS = 250;

/**
 * Version bumps (invalidations) for one client. A bump that cannot reach Redis is remembered and
 * retried every 250 ms and whenever the client reconnects; until it lands, `isPending` tells the
 * cache to read that scope from the loader, because Redis may still hold the old value (a paused
 * or partitioned Redis keeps its data).
 */
export class VersionBumps {
  /** Version key → sequence number of its latest failed bump. */
  private readonly pending = new Map<string, number>();
  private seq = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private flushing = false;
  private readonly breaker: RedisBreaker;
  /** Version key → the bump queued for the end of this turn of the event loop, not sent yet. */
  private readonly queued = new Map<string, Promise<void>>();

  constructor(
    private readonly client: Redis & CacheScripts,
    private readonly coherence: CacheCoherence,
    private readonly onRedisError: (err: unknown, op: string) => void,
  ) {
    this.breaker = RedisBreaker.of(client);
    client.on("ready", () => void this.flush());
  }

  isPending(versionKey: string): boolean {
    return this.pending.has(versionKey);
  }

  get size(): number {
    return this.pending.size;
  }

  /**
   * Never throws. Returns once every process has dropped its copies of the scope (see
   * coherence.ts); bounded by the command timeout plus one reader lease.
   *
   * Callers in one turn of the event loop share one bump, sent at the end of the turn: each of
   * them committed before asking, so a bump sent after all of them covers every one (a bump
   * already sent does not: it may have reached readers before a later commit). A flash sale's
   * bookings of one event thus share one bump (and its announcement, and the wait if the scope is
   * not hot) per turn.
   */
  bump(versionKey: string): Promise<void> {
    const queued = this.queued.get(versionKey);
    if (queued) return queued;
    const next = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.queued.delete(versionKey);
      return this.bumpNow(versionKey);
    });
    this.queued.set(versionKey, next);
    return next;
  }

  private async bumpNow(versionKey: string): Promise<void> {
    if (!this.breaker.usable) {
      this.defer(versionKey);
      return this.coherence.outlastLeases();
    }
    const seq = this.pending.get(versionKey);
    try {
      // With REDIS_WAIT_REPLICAS, a bump a replica does not confirm is retried like a failed one:
      // a failover could otherwise bring back the old version, and with it the old value.
      await this.coherence.publish(versionKey, async () => {
        const [reply] = await execReplicated(this.client, "cache_bump", versionKey, (p) =>
          (p as unknown as CacheScripts).evCacheBump(
            versionKey,
            bumpedAtKeyOf(versionKey),
            freshVersion(),
            VERSION_TTL_MS,
            this.coherence.hotScopeMs,
          ),
        );
        return reply as [string, number];
      });
      // This INCR covers every earlier missed one, unless another one was missed meanwhile.
      if (seq !== undefined && this.pending.get(versionKey) === seq) this.pending.delete(versionKey);
    } catch (err) {
      this.onRedisError(err, "invalidate");
      this.defer(versionKey);
    }
  }

  private defer(versionKey: string): void {
    this.pending.set(versionKey, ++this.seq);
    if (!this.timer) {
      this.timer = setInterval(() => void this.flush(), RETRY_MS);
      this.timer.unref?.();
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.pending.size === 0 || !this.breaker.usable) return;
    this.flushing = true;
    try {
      await Promise.all([...this.pending.keys()].map((key) => this.bumpNow(key)));
    } finally {
      this.flushing = false;
      if (this.pending.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
        logger.info("cache: pending invalidations reached redis");
      }
    }
  }
}
