import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import { config } from "../config";
import { errorMessage } from "../platform/error-message";
import { throttledWarn } from "../platform/logger";
import { createShardSubscriber, isClusterMode } from "../platform/redis";
import { type AckWait, applyAcks, awaitAcks } from "./coherence-acks";
import type { CacheScripts } from "./scripts";

/**
 * Lets a process answer a cached read from its own memory without asking Redis, and still never
 * serve a value older than an invalidation whose writer has already answered its client.
 *
 * - Every invalidation publishes "<nonce> <scope key> <new version>[ h]" (sharded pub/sub on the
 *   `{coherence}` slot, so the leases, channels and subscribers share one node on Redis Cluster).
 *   Subscribers record the highest version seen per scope; a copy is served only at that version.
 * - A reading process is a member of a set in Redis (a sorted set scored by membership end, on
 *   Redis's clock, renewed every 75 ms for 300 ms), and sends a PING on its subscriber connection
 *   every few milliseconds. The PONG comes after every message published before the PING, so once
 *   it is back the reader has applied all earlier invalidations. The reader trusts its memory only
 *   until ACK_WAIT (CACHE_ACK_WAIT_MS, 20 ms) after sending its latest answered PING, and only while
 *   its membership is continuous since a renewal that preceded such a PING.
 * - A writer bumps, announces it and reads the members (one script), then waits until every other
 *   member has acknowledged its nonce or ACK_WAIT has passed since the bump's answer, whichever
 *   comes first (a hot bump, within CACHE_HOT_SCOPE_MS of the last, waits for nobody). Past that bound, a reader that did not
 *   acknowledge cannot trust anything: its last answered PING was sent before the bump, so its
 *   trust has run out. A reader that joined after the writer read the set renewed after the bump,
 *   so its next PING follows the invalidation. So a booking's answer waits at most ACK_WAIT for
 *   other processes, and a stalled or slow reader stops serving from memory instead.
 * - When Redis cannot be reached the writer waits one ACK_WAIT from the first failure (a reader
 *   that cannot reach Redis stops trusting within it), then answers.
 */

export const LEASE_MS = 300;
export const ACK_WAIT_MS = config.CACHE_ACK_WAIT_MS;
export const HOT_SCOPE_MS = config.CACHE_HOT_SCOPE_MS;
const RENEW_EVERY_MS = 75;
const SUBSCRIBE_WAIT_MS = 1_000;
const READERS_KEY = "cache:{coherence}:readers";
// Shard channels in the readers key's slot; ioredis prefixes them like keys (SSUBSCRIBE, SPUBLISH).
const INV_CHANNEL = "cache:{coherence}:inv";
const ACK_CHANNEL = "cache:{coherence}:ack";
const MAX_TRACKED_SCOPES = 100_000;

export class CacheCoherence {
  readonly id = randomUUID();
  private sub: Redis | undefined;
  private subscribed = false;
  private epochValue = 0;
  private reading = false;
  private trustedUntil = 0;
  private renewTimer: ReturnType<typeof setInterval> | undefined;
  private renewing = false;
  /** Send time of the latest membership renewal that succeeded in time (0: membership broken). */
  private memberSince = 0;
  private memberSentAt = 0;
  private lastReadAt = 0;
  private readonly syncEveryMs: number;
  private readonly idleMs: number;
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
    private readonly ackWaitMs = ACK_WAIT_MS,
    /** Versions younger than this are never trusted from memory; see `publish`. */
    readonly hotScopeMs = HOT_SCOPE_MS,
  ) {
    this.syncEveryMs = Math.max(2, Math.floor(ackWaitMs / 4));
    this.idleMs = Math.max(100, 5 * ackWaitMs);
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
    const now = performance.now();
    this.lastReadAt = now;
    return (
      epoch === this.epochValue &&
      this.subscribed &&
      now < this.trustedUntil &&
      this.versions.get(scopeKey) === Number(version)
    );
  }

  /**
   * Records a version read from Redis by a read sent in `sentEpoch`; returns the epoch to tag the
   * copy with (undefined: never trust it, a newer version has already been announced).
   */
  observe(scopeKey: string, version: string, sentEpoch: number, ageMs = -1): number | undefined {
    const v = Number(version);
    const known = this.versions.get(scopeKey);
    this.noteVersion(scopeKey, v);
    if (sentEpoch < 0 || sentEpoch !== this.epoch || (known !== undefined && v < known)) return undefined;
    // A version made by a bump less than hotScopeMs ago: a hot scope, served from Redis instead,
    // which is what lets the next bump answer without waiting (publish).
    if (ageMs >= 0 && ageMs < this.hotScopeMs) return undefined;
    return sentEpoch;
  }

  /** A reading process calls this on every cache read: the first call subscribes and starts the lease. */
  startReading(): void {
    this.lastReadAt = performance.now();
    if (this.reading) return;
    this.reading = true;
    this.ensureSubscriber();
    this.renewTimer = setInterval(() => void this.renew(), this.syncEveryMs);
    this.renewTimer.unref?.();
  }

  /**
   * Runs a bump (which publishes `nonce`) and waits until every live reader has applied it or
   * its lease has ended. Throws what the bump throws, after waiting out the leases.
   */
  async publish(scopeKey: string, bump: () => Promise<[string, number]>): Promise<void> {
    // Acknowledgements reach us only once subscribed; without that we would wait out the bound.
    if (!this.subscribed) await this.whenSubscribed(SUBSCRIBE_WAIT_MS);
    const nonce = `${this.id}:${++this.nonceSeq}`;
    const wait: AckWait = { acked: new Set() };
    this.waits.set(nonce, wait);
    try {
      // The bump answers {version, hot}; the version is then announced on the coherence shard.
      const [version, hot] = await bump();
      this.noteVersion(scopeKey, Number(version));
      // Hot (previous bump < hotScopeMs ago): every copy of the replaced version was read while it
      // was younger than hotScopeMs, so none is trusted (observe); older copies are covered by the
      // earlier bumps' waits. Still announced, marked "h": unacknowledged, awaited by nobody, not even here.
      if (Number(hot) === 1) {
        this.unreachableSince = 0;
        this.client
          .spublish(INV_CHANNEL, `${nonce} ${scopeKey} ${version} h`)
          .catch((err) => this.warn({ err: errorMessage(err), op: "announce" }));
        return;
      }
      const readers = await this.client.evCacheReaders(READERS_KEY, this.invChannel, `${nonce} ${scopeKey} ${version}`);
      this.unreachableSince = 0;
      await awaitAcks(wait, readers, this.id, this.ackWaitMs);
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

  /** After an invalidation could not reach Redis: returns once no reader can still trust a copy it missed. */
  async outlastLeases(): Promise<void> {
    const now = performance.now();
    if (this.unreachableSince === 0) this.unreachableSince = now;
    const left = this.unreachableSince + Math.min(this.leaseMs, this.ackWaitMs) - now;
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
      const [nonce, scopeKey, version, hot] = parts;
      if (!nonce || !scopeKey || !version) return;
      this.noteVersion(scopeKey, Number(version));
      if (this.reading && hot !== "h") this.queueAck(nonce);
      return;
    }
    const [reader, ...nonces] = parts;
    if (!reader) return;
    applyAcks(this.waits, reader, nonces);
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
    // Nobody has read through this cache for a while: let trust and membership lapse instead of
    // pinging every few milliseconds (each PING is a socket write). The next read goes to Redis,
    // which starts the renewals again; writers stop waiting for us once the membership ends.
    if (performance.now() - this.lastReadAt > this.idleMs) return;
    this.renewing = true;
    const epoch = this.epochValue;
    try {
      let now = performance.now();
      if (this.memberSentAt + this.leaseMs <= now) this.memberSince = 0; // membership lapsed
      if (now - this.memberSentAt >= RENEW_EVERY_MS || this.memberSince === 0) {
        const sentAt = now;
        await this.client.evCacheLease(READERS_KEY, this.id, this.leaseMs);
        now = performance.now();
        // Continuous only if renewed before the previous membership ended.
        if (this.memberSince === 0 || now >= this.memberSentAt + this.leaseMs) this.memberSince = sentAt;
        this.memberSentAt = sentAt;
      }
      const pingAt = performance.now();
      // The PONG follows every message published before the PING: they are applied by now.
      await sub.ping();
      if (epoch === this.epochValue && this.subscribed && this.memberSince > 0 && pingAt >= this.memberSince) {
        this.trustedUntil = Math.min(this.memberSentAt + this.leaseMs, pingAt + this.ackWaitMs);
      }
    } catch (err) {
      this.memberSince = 0;
      this.trustedUntil = 0;
      this.warn({ err: errorMessage(err), op: "lease" });
    } finally {
      this.renewing = false;
    }
  }
}
