import os from "node:os";
import type Redis from "ioredis";
import type { z } from "zod";
import { config } from "../config";
import { errorMessage } from "../platform/error-message";
import { type Logger, logger } from "../platform/logger";
import { streamEntriesProcessed, streamEntriesRetried } from "../platform/metrics";
import { createBlockingRedis, redis } from "../platform/redis";
import { WakeableSleep } from "../platform/sleep";
import { payloadSchema, type StreamName, type StreamPayload } from "./catalog";
import { classifyFailure } from "./handler-errors";
import {
  claimForRetry,
  claimIdleEntries,
  type DeadLetterReason,
  deadLetter,
  deliveryCounts,
  type GroupRef,
  pruneIdleConsumers,
  readNewEntries,
  releaseEntries,
} from "./stream-ops";
import { decodePayload, EntryField, ensureGroup, type RawEntry, recordGroupBacklogs } from "./streams";

export interface StreamEntry<T> {
  stream: string;
  /** The Redis stream entry id. */
  id: string;
  /** Set for entries published by the outbox relay: the key to recognise a re-publication. */
  outboxId: string | undefined;
  payload: T;
  /** 1 on the first delivery; grows with every retry and every takeover from a dead consumer. */
  deliveries: number;
}

/**
 * Handles one entry. Delivery is at-least-once, so a handler must be idempotent. Throw to fail:
 * PermanentError or a DomainError whose code is not transient → dead letter at once;
 * anything else → retried with back-off
 * up to the cap. Keep it well under the visibility timeout, or another consumer takes it over.
 */
export type StreamHandler<T> = (entry: StreamEntry<T>, log: Logger) => Promise<void>;

interface ConsumerSettings {
  /** One group per kind of work (e.g. "waitlist-promoter"); replicas share it and split entries. */
  group: string;
  /** Unique per process by default (host-pid-n). */
  consumer?: string;
  batchSize?: number;
  blockMs?: number;
  visibilityTimeoutMs?: number;
  maxDeliveries?: number;
  retryDelayMs?: number;
}

/** A stream of the catalogue (catalog.ts): its payload schema comes from there. */
export interface CatalogueConsumerOptions<S extends StreamName> extends ConsumerSettings {
  stream: S;
  handler: StreamHandler<StreamPayload<S>>;
}

/** Any other stream (tests, tools): the caller brings the schema. */
export interface ConsumerOptions<T> extends ConsumerSettings {
  stream: string;
  /** Every entry is parsed with it before the handler runs; one that does not fit is dead-lettered. */
  schema: z.ZodType<T>;
  handler: StreamHandler<T>;
}

export interface StreamConsumer {
  readonly name: string;
  /** Finishes the entry in hand, hands fetched-but-unstarted entries back, then resolves. */
  stop(): Promise<void>;
  /** Resolves when the loop has ended (normally only after stop()). */
  readonly done: Promise<void>;
}

const STALE_CONSUMER_MS = 3_600_000;
const PRUNE_EVERY_MS = 600_000;
const MAX_CLAIM_PAGES = 10;

let sequence = 0;

/** Starts one consumer loop: XREADGROUP for new entries, XAUTOCLAIM for abandoned ones, retries, dead letters. */
export function startConsumer<S extends StreamName>(opts: CatalogueConsumerOptions<S>): StreamConsumer;
export function startConsumer<T>(opts: ConsumerOptions<T>): StreamConsumer;
export function startConsumer<S extends StreamName>(
  opts: CatalogueConsumerOptions<S> | ConsumerOptions<unknown>,
): StreamConsumer {
  const loop =
    "schema" in opts ? new ConsumerLoop(opts) : new ConsumerLoop({ ...opts, schema: payloadSchema(opts.stream) });
  const done = loop.run();
  return { name: loop.ref.consumer, done, stop: () => loop.stop(done) };
}

interface ScheduledRetry {
  due: number;
  deliveries: number;
  delay: number;
}

class ConsumerLoop<T> {
  readonly ref: GroupRef;
  private readonly batchSize: number;
  private readonly blockMs: number;
  private readonly visibilityMs: number;
  private readonly maxDeliveries: number;
  private readonly retryDelayMs: number;
  private readonly claimEveryMs: number;
  private readonly log: Logger;
  // Blocking reads get their own connection: no command timeout, and the shared client stays free.
  private readonly conn: Redis;
  private readonly retries = new Map<string, ScheduledRetry>();
  private stopping = false;
  private reading = false;
  private groupReady = false;
  private nextClaimAt = 0;
  private nextPruneAt = 0;
  private readonly backoff = new WakeableSleep();
  // The blocking connection's CLIENT ID, so stop() can end a blocked read at once (CLIENT UNBLOCK).
  private connId: number | undefined;

  constructor(private readonly opts: ConsumerOptions<T>) {
    this.ref = {
      stream: opts.stream,
      group: opts.group,
      consumer: opts.consumer ?? `${os.hostname()}-${process.pid}-${++sequence}`,
    };
    this.batchSize = opts.batchSize ?? 10;
    this.blockMs = opts.blockMs ?? 2_000;
    this.visibilityMs = opts.visibilityTimeoutMs ?? config.STREAM_VISIBILITY_TIMEOUT_MS;
    this.maxDeliveries = opts.maxDeliveries ?? config.STREAM_MAX_DELIVERIES;
    this.retryDelayMs = opts.retryDelayMs ?? config.STREAM_RETRY_DELAY_MS;
    this.claimEveryMs = Math.max(100, Math.min(this.visibilityMs / 2, 5_000));
    this.log = logger.child({ stream: opts.stream, group: opts.group, consumer: this.ref.consumer });
    this.conn = createBlockingRedis(`consumer:${opts.stream}`);
    this.conn.on("close", () => {
      this.connId = undefined;
    });
  }

  async run(): Promise<void> {
    this.log.info({ visibility_timeout_ms: this.visibilityMs, max_deliveries: this.maxDeliveries }, "consumer started");
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.tick();
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        failures++;
        // The stream or group vanished (Redis restarted empty, or the key was deleted): recreate.
        if (errorMessage(err).includes("NOGROUP")) this.groupReady = false;
        this.log.warn({ err: errorMessage(err), failures }, "consumer loop error; retrying");
        await this.backoff.sleep(Math.min(250 * 2 ** failures, 5_000));
      }
    }
    this.conn.disconnect();
    this.log.info("consumer stopped");
  }

  async stop(done: Promise<void>): Promise<void> {
    this.stopping = true;
    this.backoff.wake();
    // Ends a blocked XREADGROUP as if it had timed out (no entry is handed out), instead of waiting
    // up to blockMs. Best effort: the timer below covers a failure.
    if (this.reading && this.connId !== undefined) await redis.client("UNBLOCK", this.connId).catch(() => 0);
    // A blocking read returns within blockMs, but while Redis is unreachable it would wait for the
    // reconnection: cut it then. Entries it might have received are taken over after the timeout.
    const cut = setTimeout(() => this.reading && this.conn.disconnect(), this.blockMs + 1_000);
    await done;
    clearTimeout(cut);
  }

  private async tick(): Promise<void> {
    if (!this.groupReady) {
      await ensureGroup(this.ref.stream, this.ref.group);
      this.groupReady = true;
    }
    if (Date.now() >= this.nextClaimAt) {
      this.nextClaimAt = Date.now() + this.claimEveryMs;
      await this.reclaimIdle();
    }
    await this.retryDue();
    if (this.stopping) return;
    await this.handleBatch(await this.readNew(), () => 1);
  }

  private async readNew(): Promise<RawEntry[]> {
    const until = Math.min(this.nextClaimAt, ...[...this.retries.values()].map((r) => r.due));
    // BLOCK 0 would mean "forever": never go below 1 ms.
    const block = Math.max(1, Math.min(this.blockMs, until - Date.now()));
    // Asked before blocking: once blocked, the connection answers nothing else.
    this.connId ??= Number(await this.conn.client("ID"));
    if (this.stopping) return [];
    this.reading = true;
    try {
      return await readNewEntries(this.conn, this.ref, this.batchSize, block);
    } finally {
      this.reading = false;
    }
  }

  /** Takes over entries another consumer (killed, hung) left unacknowledged past the visibility timeout. */
  private async reclaimIdle(): Promise<void> {
    let cursor = "0-0";
    for (let page = 0; page < MAX_CLAIM_PAGES && !this.stopping; page++) {
      const claimed = await claimIdleEntries(this.ref, this.visibilityMs, cursor, this.batchSize);
      cursor = claimed.cursor;
      const entries = claimed.entries;
      if (entries.length > 0) {
        const ids = entries.map((e) => e.id);
        const counts = await deliveryCounts(this.ref, ids);
        this.log.info({ entry_ids: ids }, "took over idle stream entries");
        for (const id of ids) this.retries.delete(id);
        await this.handleBatch(entries, (id) => counts.get(id) ?? 2);
      }
      if (cursor === "0-0") break;
    }
    await recordGroupBacklogs(this.ref.stream, this.ref.group);
    if (Date.now() >= this.nextPruneAt) {
      this.nextPruneAt = Date.now() + PRUNE_EVERY_MS;
      const removed = await pruneIdleConsumers(this.ref, STALE_CONSUMER_MS);
      if (removed.length > 0) this.log.info({ removed }, "removed idle consumers that owned nothing");
    }
  }

  /** Re-delivers this consumer's failed entries whose back-off has elapsed. */
  private async retryDue(): Promise<void> {
    const now = Date.now();
    for (const [id, retry] of this.retries) {
      if (this.stopping) return;
      if (retry.due > now) continue;
      this.retries.delete(id);
      const entry = await claimForRetry(this.ref, id, retry.delay);
      if (entry) await this.process(entry, retry.deliveries + 1);
      else this.log.info({ entry_id: id }, "retry skipped: entry taken over or deleted");
    }
  }

  private async handleBatch(entries: RawEntry[], deliveriesOf: (id: string) => number): Promise<void> {
    for (let i = 0; i < entries.length; i++) {
      if (this.stopping) {
        await releaseEntries(
          this.ref,
          entries.slice(i).map((e) => e.id),
          this.visibilityMs,
        ).catch(() => {});
        return;
      }
      const entry = entries[i] as RawEntry;
      await this.process(entry, deliveriesOf(entry.id));
    }
  }

  private async process(raw: RawEntry, deliveries: number): Promise<void> {
    const outboxId = raw.fields[EntryField.outboxId];
    const log = this.log.child({ entry_id: raw.id, outbox_id: outboxId, deliveries });
    if (deliveries > this.maxDeliveries) {
      // Delivered over and over without an outcome: its consumers keep dying or timing out on it.
      return this.deadLetter(raw, deliveries, "max_deliveries", "delivered too often without being acknowledged", log);
    }
    const decoded = decodePayload(raw, this.opts.schema);
    if (!decoded.ok) return this.deadLetter(raw, deliveries, "malformed", decoded.error, log);
    const started = performance.now();
    try {
      const entry = { stream: this.ref.stream, id: raw.id, outboxId, payload: decoded.payload, deliveries };
      await this.opts.handler(entry, log);
    } catch (err) {
      return this.onFailure(raw, deliveries, err, log);
    }
    await redis.xack(this.ref.stream, this.ref.group, raw.id);
    streamEntriesProcessed.inc({ stream: this.ref.stream, group: this.ref.group });
    log.info({ ms: Math.round(performance.now() - started) }, "stream entry handled");
  }

  private async onFailure(raw: RawEntry, deliveries: number, err: unknown, log: Logger): Promise<void> {
    const message = errorMessage(err);
    if (classifyFailure(err) === "permanent") return this.deadLetter(raw, deliveries, "permanent_error", message, log);
    if (deliveries >= this.maxDeliveries) return this.deadLetter(raw, deliveries, "retries_exhausted", message, log);
    // Exponential back-off, kept under the visibility timeout so this consumer retries before others take over.
    const delay = Math.min(this.retryDelayMs * 2 ** (deliveries - 1), this.visibilityMs / 2);
    this.retries.set(raw.id, { due: Date.now() + delay, deliveries, delay });
    streamEntriesRetried.inc({ stream: this.ref.stream, group: this.ref.group });
    log.warn({ err: message, retry_in_ms: delay }, "stream handler failed; will retry");
  }

  private async deadLetter(raw: RawEntry, deliveries: number, reason: DeadLetterReason, error: string, log: Logger) {
    await deadLetter(this.ref, raw, { reason, error, deliveries });
    log.error({ reason, err: error }, "stream entry moved to the dead-letter stream");
  }
}
