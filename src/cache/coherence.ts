import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import { errorMessage } from "../platform/error-message";
import { logger, throttledWarn } from "../platform/logger";
import { createShardSubscriber, isClusterMode } from "../platform/redis";
import type { CacheScripts } from "./scripts";

/**
 * Lets a process answer a cached read from its own memory without asking Redis, and still never
 * serve a value older than an invalidation whose writer has already answered its client.
 *
 * - Every invalidation publishes "<nonce> <scope key> <new version>" (sharded pub/sub on the
 *   `{coherence}` slot, from the script that then reads the leases, so that on Redis Cluster the
 *   leases, the channels and every subscriber's connection are on one node).
 *   Each process's subscriber connection records the highest version it has seen per scope; a
 *   local copy is served only if it carries that version.
 * - A reading process holds a lease in Redis (a sorted set scored by lease end, on Redis's clock)
 *   and trusts its memory only until its own lease ends. Renewal is ZADD, then PING on the
 *   subscriber connection: the PONG comes after every message published before it, so a reader
 *   has applied all earlier invalidations before it extends its trust.
 * - A writer, after its bump, reads the live leases and waits until every other reader has
 *   acknowledged its nonce (readers acknowledge right after applying it) or that reader's lease
 *   has ended. Only then does the write's caller answer. A stalled reader therefore delays writers
 *   by at most one lease, and can never serve from memory past it.
 * - When Redis cannot be reached the writer waits one lease from the first failure (nobody can
 *   renew meanwhile), so no reader still trusts a copy the failed invalidation would have dropped.
 */

export const LEASE_MS = 300;
const RENEW_EVERY_MS = 75;
const SUBSCRIBE_WAIT_MS = 1_000;
const READERS_KEY = "cache:{coherence}:readers";
// Shard channels in the readers key's slot; ioredis prefixes them like keys (SSUBSCRIBE, SPUBLISH).
const INV_CHANNEL = "cache:{coherence}:inv";
const ACK_CHANNEL = "cache:{coherence}:ack";
const MAX_TRACKED_SCOPES = 100_000;

interface AckWait {
  acked: Set<string>;
  pending?: Set<string>;
  done?: () => void;
}

export class CacheCoherence {
  readonly id = randomUUID();
  private sub: Redis | undefined;
  private subscribed = false;
  private epochValue = 0;
  private reading = false;
  private trustedUntil = 0;
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  private renewing = false;
  private unreachableSince = 0;
  private nonceSeq = 0;
  private ackQueue: string[] = [];
  private readonly versions = new Map<string, number>();
  private readonly waits = new Map<string, AckWait>();
  private readonly invChannel: string;
  private readonly warn = throttledWarn(5_000, "cache coherence: redis unavailable, reads ask redis instead");

  constructor(
    private readonly client: Redis & CacheScripts,
    private readonly leaseMs = LEASE_MS,
  ) {
    const prefix = client.options.keyPrefix ?? "";
    this.invChannel = `${prefix}${INV_CHANNEL}`;
    client.once("end", () => this.stop());
    // A fresh connection: the next outage starts its own count.
    client.on("ready", () => {
      this.unreachableSince = 0;
    });
  }

  /** Changes whenever the subscription starts or breaks: copies tagged with an older epoch are never trusted. */
  get epoch(): number {
    return this.subscribed ? this.epochValue : -1;
  }

  /** Whether a local copy of this scope, at this version, read in this epoch, may be served as is. */
  trusts(scopeKey: string, version: string, epoch: number | undefined): boolean {
    return (
      epoch === this.epochValue &&
      this.subscribed &&
      performance.now() < this.trustedUntil &&
      this.versions.get(scopeKey) === Number(version)
    );
  }

  /**
   * Records a version read from Redis by a read sent in `sentEpoch`; returns the epoch to tag the
   * copy with (undefined: never trust it, a newer version has already been announced).
   */
  observe(scopeKey: string, version: string, sentEpoch: number): number | undefined {
    const v = Number(version);
    const known = this.versions.get(scopeKey);
    this.noteVersion(scopeKey, v);
    if (sentEpoch < 0 || sentEpoch !== this.epoch || (known !== undefined && v < known)) return undefined;
    return sentEpoch;
  }

  /** A reading process calls this on every cache read: the first call subscribes and starts the lease. */
  startReading(): void {
    if (this.reading) return;
    this.reading = true;
    this.ensureSubscriber();
    this.renewTimer = setInterval(() => void this.renew(), RENEW_EVERY_MS);
    this.renewTimer.unref?.();
  }

  /**
   * Runs a bump (which publishes `nonce`) and waits until every live reader has applied it or
   * its lease has ended. Throws what the bump throws, after waiting out the leases.
   */
  async publish(scopeKey: string, bump: () => Promise<string>): Promise<void> {
    // Acknowledgements reach us only once subscribed; without that we would wait out every lease.
    if (!this.subscribed) await this.whenSubscribed(SUBSCRIBE_WAIT_MS);
    const nonce = `${this.id}:${++this.nonceSeq}`;
    const wait: AckWait = { acked: new Set() };
    this.waits.set(nonce, wait);
    try {
      const version = await bump();
      this.noteVersion(scopeKey, Number(version));
      const readers = await this.client.evCacheReaders(READERS_KEY, this.invChannel, `${nonce} ${scopeKey} ${version}`);
      this.unreachableSince = 0;
      await this.awaitAcks(wait, readers);
    } catch (err) {
      await this.outlastLeases();
      throw err;
    } finally {
      this.waits.delete(nonce);
    }
  }

  stop(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    this.reading = false;
    this.subscribed = false;
    this.sub?.disconnect();
    this.sub = undefined;
  }

  private awaitAcks(wait: AckWait, readers: string[]): Promise<void> {
    const now = Number(readers[0]);
    const pending = new Set<string>();
    let longestMs = 0;
    for (let i = 1; i + 1 < readers.length; i += 2) {
      const id = readers[i] as string;
      if (id === this.id || wait.acked.has(id)) continue;
      pending.add(id);
      longestMs = Math.max(longestMs, Number(readers[i + 1]) - now);
    }
    if (pending.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // Counted from our receipt of Redis's clock, so we never stop waiting before a lease ends.
      const timer = setTimeout(() => {
        logger.warn({ readers: [...pending] }, "cache coherence: readers did not acknowledge; waited out their leases");
        resolve();
      }, longestMs + 1);
      wait.pending = pending;
      wait.done = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** After an invalidation could not reach Redis: returns once no reader can still trust a copy it missed. */
  async outlastLeases(): Promise<void> {
    const now = performance.now();
    if (this.unreachableSince === 0) this.unreachableSince = now;
    const left = this.unreachableSince + this.leaseMs - now;
    if (left > 0) await Bun.sleep(left + 1);
  }

  private whenSubscribed(ms: number): Promise<void> {
    this.ensureSubscriber();
    return new Promise((resolve) => {
      const started = performance.now();
      const poll = () => {
        if (this.subscribed || performance.now() - started >= ms || !this.sub) resolve();
        else setTimeout(poll, 5);
      };
      poll();
    });
  }

  private noteVersion(scopeKey: string, version: number): void {
    const known = this.versions.get(scopeKey);
    if (known !== undefined && known >= version) return;
    if (this.versions.size >= MAX_TRACKED_SCOPES) {
      // Forgetting versions could make an old copy look current: trust nothing from before.
      this.versions.clear();
      this.epochValue++;
    }
    this.versions.set(scopeKey, version);
  }

  private ensureSubscriber(): void {
    if (this.sub) return;
    const sub = createShardSubscriber(this.client, READERS_KEY, {
      autoResubscribe: false,
      enableAutoPipelining: false,
    });
    if (!sub) return; // cluster slot map not known yet: the next renewal or publish tries again
    this.sub = sub;
    sub.on("error", (err) => this.warn({ err: err.message, op: "subscriber" }));
    sub.on("close", () => {
      // Messages may be lost from here on: nothing read so far is trusted again.
      this.subscribed = false;
      this.trustedUntil = 0;
      this.epochValue++;
      // On a cluster the connection is pinned to the shard's node: after a failover the slot is
      // served elsewhere, so a fresh connection is made to whichever node owns it now.
      if (isClusterMode && this.sub === sub) {
        sub.disconnect();
        this.sub = undefined;
      }
    });
    sub.on("ready", () => {
      sub.ssubscribe(INV_CHANNEL, ACK_CHANNEL).then(
        () => {
          if (this.sub !== sub) return;
          this.epochValue++;
          this.subscribed = true;
          if (this.reading) void this.renew();
        },
        (err) => this.warn({ err: errorMessage(err), op: "subscribe" }),
      );
    });
    sub.on("smessage", (channel: string, message: string) => this.onMessage(channel, message));
  }

  private onMessage(channel: string, message: string): void {
    const parts = message.split(" ");
    if (channel === this.invChannel) {
      const [nonce, scopeKey, version] = parts;
      if (!nonce || !scopeKey || !version) return;
      this.noteVersion(scopeKey, Number(version));
      if (this.reading) this.queueAck(nonce);
      return;
    }
    const [reader, ...nonces] = parts;
    if (!reader) return;
    for (const nonce of nonces) {
      const wait = this.waits.get(nonce);
      if (!wait) continue;
      wait.acked.add(reader);
      if (wait.pending?.delete(reader) && wait.pending.size === 0) wait.done?.();
    }
  }

  /** Acknowledgements of one burst of messages go out as one PUBLISH. */
  private queueAck(nonce: string): void {
    this.ackQueue.push(nonce);
    if (this.ackQueue.length > 1) return;
    queueMicrotask(() => {
      const nonces = this.ackQueue;
      this.ackQueue = [];
      this.client
        .spublish(ACK_CHANNEL, `${this.id} ${nonces.join(" ")}`)
        .catch((err) => this.warn({ err: errorMessage(err), op: "ack" }));
    });
  }

  private async renew(): Promise<void> {
    if (!this.sub && this.reading) this.ensureSubscriber();
    const sub = this.sub;
    if (this.renewing || !this.subscribed || !sub) return;
    this.renewing = true;
    const epoch = this.epochValue;
    const sentAt = performance.now();
    try {
      await this.client.evCacheLease(READERS_KEY, this.id, this.leaseMs);
      // The PONG follows every message published before the lease: they are applied by now.
      await sub.ping();
      if (epoch === this.epochValue && this.subscribed) this.trustedUntil = sentAt + this.leaseMs;
    } catch (err) {
      this.warn({ err: errorMessage(err), op: "lease" });
    } finally {
      this.renewing = false;
    }
  }
}
