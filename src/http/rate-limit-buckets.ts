import { hashSlot, isClusterMode, isRedisReady } from "../platform/redis";
import { limiterRedis } from "./rate-limit-scripts";

/**
 * The rate limiter's buckets (design: the comment at the top of rate-limit.ts): each process's
 * local view of the buckets it has seen, synced every RATE_LIMIT_SYNC_MS through the scripts of
 * rate-limit-scripts.ts.
 */

export interface RateLimitPolicy {
  /** Part of the Redis key, so policies never share a bucket. */
  name: string;
  /** Sustained requests per second. */
  rps: number;
  /** Extra requests allowed at once on top of the first one (nginx's `burst`). */
  burst: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Requests a full bucket allows at once (burst + 1). */
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds to wait before the next request can pass (0 when allowed). */
  retryAfterSeconds: number;
}

const SYNC_CHUNK = 500;

const PROCESSES_KEY = "rl:processes";
const PROCESS_LEASE_MS = 2_000;

/** What every bucket of one policy shares, computed once per policy. Times in ms. */
interface Shape {
  policy: RateLimitPolicy;
  intervalMs: number;
  toleranceMs: number;
  /** The same in µs as the scripts take them (text, formatted once). */
  intervalUs: string;
  toleranceUs: string;
}

/** One subject's bucket as this process sees it. Times in ms on performance.now()'s clock. */
interface Bucket {
  redisKey: string;
  shape: Shape;
  /** The global TAT as of the last answer from Redis (0: never asked, assumed full). */
  viewTat: number;
  /** Admitted here, not yet sent to Redis. */
  unsent: number;
  /** Admitted here (or being asked for), sent, answer not back yet. */
  inflight: number;
}

export class LocalBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly shapes = new Map<RateLimitPolicy, Shape>();
  private readonly id = crypto.randomUUID();
  private processes = 2;
  private timer: ReturnType<typeof setInterval> | undefined;
  private syncing = false;

  constructor(
    private readonly syncMs: number,
    /** Share of the burst the pool may admit before Redis has counted it (RATE_LIMIT_UNSYNCED_SHARE). */
    private readonly unsyncedShare: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  /** Requests this process may admit for one subject without Redis having counted them. */
  localAllowance(policy: RateLimitPolicy): number {
    return Math.floor((this.unsyncedShare * (policy.burst + 1)) / this.processes);
  }

  /** The decision, at once when this process can make it alone, else a promise of Redis's. */
  take(policy: RateLimitPolicy, subject: string): RateLimitDecision | Promise<RateLimitDecision> {
    this.start();
    const key = `${policy.name}:${subject}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { redisKey: `rl:${key}`, shape: this.shapeOf(policy), viewTat: 0, unsent: 0, inflight: 0 };
      this.buckets.set(key, bucket);
    }
    const { intervalMs, toleranceMs } = bucket.shape;
    const now = performance.now();
    const tat = this.estimate(bucket, now) + intervalMs;
    const lessThanHalfUsed = tat - now <= (toleranceMs + intervalMs) / 2;
    if (lessThanHalfUsed && bucket.unsent + bucket.inflight < this.localAllowance(policy)) {
      bucket.unsent++;
      return decision(bucket, true, tat - now, 0);
    }
    return this.takeInRedis(bucket);
  }

  private shapeOf(policy: RateLimitPolicy): Shape {
    let shape = this.shapes.get(policy);
    if (!shape) {
      const intervalMs = 1_000 / policy.rps;
      const toleranceMs = intervalMs * policy.burst;
      shape = {
        policy,
        intervalMs,
        toleranceMs,
        intervalUs: (intervalMs * 1000).toFixed(3),
        toleranceUs: (toleranceMs * 1000).toFixed(3),
      };
      this.shapes.set(policy, shape);
    }
    return shape;
  }

  /** The bucket's TAT by this process's knowledge: Redis's last word plus what it has not counted yet. */
  private estimate(b: Bucket, now: number): number {
    return Math.max(b.viewTat, now) + (b.unsent + b.inflight) * b.shape.intervalMs;
  }

  private async takeInRedis(b: Bucket): Promise<RateLimitDecision> {
    const admitted = b.unsent;
    b.unsent = 0;
    b.inflight += admitted + 1;
    try {
      const [allowed, debtUs] = await limiterRedis.eventlyGcra(
        b.redisKey,
        b.shape.intervalUs,
        b.shape.toleranceUs,
        admitted,
        1,
      );
      const now = performance.now();
      b.viewTat = now + debtUs / 1000;
      const debtMs = debtUs / 1000;
      return decision(b, allowed === 1, debtMs, allowed === 1 ? 0 : debtMs - b.shape.toleranceMs);
    } finally {
      b.inflight -= admitted + 1;
    }
  }

  private start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sync(), this.syncMs);
    this.timer.unref?.();
  }

  /**
   * One pipelined write: every pending count (each answer refreshes that bucket's view) and this
   * process's lease. Buckets with nothing pending are not sent: near the limit their requests go
   * to Redis anyway, and far from it a view older than one sync costs nothing.
   */
  private async sync(): Promise<void> {
    if (this.syncing || !isRedisReady()) return;
    const now = performance.now();
    const sent: [Bucket, number][] = [];
    // Sent together without waiting for each other (one write burst on a single Redis; on a
    // cluster, one call per hash slot, each to the node that owns it).
    const calls: Promise<unknown>[] = [limiterRedis.eventlyRlProcesses(PROCESSES_KEY, this.id, PROCESS_LEASE_MS)];
    for (const [key, b] of this.buckets) {
      if (b.unsent === 0) {
        // Full again and nothing in flight: nothing worth remembering.
        if (b.inflight === 0 && this.estimate(b, now) <= now) this.buckets.delete(key);
        continue;
      }
      sent.push([b, b.unsent]);
      b.inflight += b.unsent;
      b.unsent = 0;
    }
    const groups = syncGroups(sent);
    for (const group of groups) {
      const args: (string | number)[] = [group.length];
      let counts = "";
      for (const [b, admitted] of group) {
        args.push(b.redisKey);
        counts += `${b.shape.intervalUs} ${admitted} `;
      }
      args.push(counts);
      calls.push(limiterRedis.eventlyGcraAdd(...args));
    }
    this.syncing = true;
    try {
      const results = await Promise.allSettled(calls);
      const at = performance.now();
      const procs = results[0];
      if (procs?.status === "fulfilled" && typeof procs.value === "number") this.processes = Math.max(2, procs.value);
      groups.forEach((group, g) => {
        const r = results[g + 1];
        if (r?.status !== "fulfilled" || !Array.isArray(r.value)) return;
        r.value.forEach((debtUs, j) => {
          const entry = group[j];
          if (entry) entry[0].viewTat = Math.max(entry[0].viewTat, at + Number(debtUs) / 1000);
        });
      });
      const failed = results.find((r) => r.status === "rejected");
      if (failed) this.onError((failed as PromiseRejectedResult).reason);
    } catch (err) {
      this.onError(err);
    } finally {
      for (const [b, admitted] of sent) b.inflight -= admitted;
      this.syncing = false;
    }
  }
}

/**
 * The sync's calls: one multi-key call per SYNC_CHUNK buckets on a single Redis; on Redis Cluster,
 * where one call's keys must share a hash slot, one call per slot (chunked the same way).
 */
function syncGroups(sent: [Bucket, number][]): [Bucket, number][][] {
  const bySlot = new Map<number, [Bucket, number][]>();
  for (const entry of sent) {
    const slot = isClusterMode ? hashSlot(entry[0].redisKey) : 0;
    const list = bySlot.get(slot);
    if (list) list.push(entry);
    else bySlot.set(slot, [entry]);
  }
  const groups: [Bucket, number][][] = [];
  for (const list of bySlot.values()) {
    for (let i = 0; i < list.length; i += SYNC_CHUNK) groups.push(list.slice(i, i + SYNC_CHUNK));
  }
  return groups;
}

function decision(b: Bucket, allowed: boolean, debtMs: number, waitMs: number): RateLimitDecision {
  const { policy, toleranceMs, intervalMs } = b.shape;
  return {
    allowed,
    limit: policy.burst + 1,
    remaining: allowed ? Math.max(0, Math.floor((toleranceMs - debtMs) / intervalMs) + 1) : 0,
    resetSeconds: Math.max(0, Math.ceil(debtMs / 1000)),
    // Retry-After is whole seconds; never tell a client "0" while refusing it.
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(waitMs / 1000)),
  };
}
