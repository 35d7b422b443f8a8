import type Redis from "ioredis";
import type { outbox } from "../db/schema-messaging";
import { sql } from "../platform/db";
import { errorMessage } from "../platform/error-message";
import { logger } from "../platform/logger";
import { outboxBacklog, outboxRelayed } from "../platform/metrics";
import { execReplicated, redis } from "../platform/redis";
import { WakeableSleep } from "../platform/sleep";
import { entryFields } from "./streams";

/**
 * The outbox relay: moves committed outbox rows to their Redis streams. Every worker process runs
 * the loop; the API calls kickOutboxRelay() after a commit so entries go out at once instead of
 * on the next tick. All of them may run together: rows are claimed FOR UPDATE SKIP LOCKED, so two
 * relays never publish the same row in the same pass.
 *
 * Delivery is at-least-once: a crash between XADD and COMMIT publishes a row again on the next
 * pass. Each entry carries `outbox_id` so handlers can recognise a repeat. Order is oldest-first
 * within a batch; concurrent relays may interleave batches, so handlers must not rely on order.
 */

const BATCH_SIZE = 100;
// A pass stops after this many full batches so that stop() and the back-off are honoured.
const MAX_BATCHES_PER_PASS = 20;
const BACKLOG_SAMPLE_MS = 5_000;
const PURGE_EVERY_MS = 60_000;
// Published rows are kept a day: enough to investigate or replay, small enough to stay cheap.
const PUBLISHED_RETENTION_MS = 24 * 3_600_000;
const MAX_BACKOFF_MS = 2_000;

export class RedisUnavailableError extends Error {
  constructor() {
    super("Redis is not connected; outbox rows wait for the next pass");
    this.name = "RedisUnavailableError";
  }
}

type OutboxRow = Pick<typeof outbox.$inferSelect, "id" | "stream" | "payload">;

export interface RelayOptions {
  batchSize?: number;
  client?: Redis;
}

/** Publishes one batch of unpublished rows, oldest first; returns how many went out. */
export async function relayOutbox(opts: RelayOptions = {}): Promise<number> {
  const client = opts.client ?? redis;
  // Without a connection every XADD would fail: do not lock rows (or open a transaction) for nothing.
  if (client.status !== "ready") throw new RedisUnavailableError();
  const rows = await sql.begin(async (tx) => {
    const batch = await tx<OutboxRow[]>`
      select id, stream, payload from outbox
      where published_at is null
      order by id
      limit ${opts.batchSize ?? BATCH_SIZE}
      for update skip locked`;
    if (batch.length === 0) return [];
    // Sent together (one pipeline per stream: one node each on a cluster, in order); any failure,
    // or replicas not confirming (REDIS_WAIT_REPLICAS), rolls the batch back and the rows go out
    // again next pass (consumers recognise re-published rows by their outbox id).
    const byStream = Map.groupBy(batch, (row) => row.stream);
    await Promise.all(
      [...byStream].map(([stream, rows]) =>
        execReplicated(client, "stream", stream, (p) => {
          for (const row of rows) p.xadd(stream, "*", ...entryFields(row.payload, row.id));
        }),
      ),
    );
    await tx`
      update outbox set published_at = now(), attempts = attempts + 1
      where id = any(${batch.map((row) => row.id)}::bigint[])`;
    return [...batch];
  });
  for (const row of rows) outboxRelayed.inc({ stream: row.stream });
  return rows.length;
}

/** Relays until the backlog is empty (or a pass's batch budget is spent); returns the count. */
export async function drainOutbox(opts: RelayOptions = {}, shouldStop: () => boolean = () => false): Promise<number> {
  const batchSize = opts.batchSize ?? BATCH_SIZE;
  let total = 0;
  for (let i = 0; i < MAX_BATCHES_PER_PASS && !shouldStop(); i++) {
    const n = await relayOutbox({ ...opts, batchSize });
    total += n;
    if (n < batchSize) break;
  }
  return total;
}

/** Unpublished rows right now (the partial index keeps this cheap). */
export async function countOutboxBacklog(): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`;
  return row?.n ?? 0;
}

/**
 * Deletes published rows older than the retention, oldest first, a bounded number per call.
 * Walking the primary key from the start stops early because old rows are at the front.
 */
export async function purgePublishedOutbox(retentionMs = PUBLISHED_RETENTION_MS, limit = 1_000): Promise<number> {
  const cutoff = new Date(Date.now() - retentionMs);
  const deleted = await sql`
    delete from outbox
    where id in (
        select id from outbox where published_at < ${cutoff}
        order by id limit ${limit}
        for update skip locked)
      and published_at < ${cutoff}
    returning id`;
  return deleted.length;
}

export interface OutboxRelayLoop {
  /** Runs a pass now instead of at the next tick. */
  kick(): void;
  stop(): Promise<void>;
}

let activeLoop: OutboxRelayLoop | undefined;

/** Runs the relay every `intervalMs` (backing off while Redis or PostgreSQL is failing). */
export function startOutboxRelayLoop(opts: { intervalMs?: number; batchSize?: number } = {}): OutboxRelayLoop {
  const intervalMs = opts.intervalMs ?? 250;
  let stopped = false;
  const pause = new WakeableSleep();

  const done = (async () => {
    let failures = 0;
    let lastSample = 0;
    let lastPurge = Date.now();
    while (!stopped) {
      try {
        await drainOutbox({ batchSize: opts.batchSize }, () => stopped);
        if (failures > 0) logger.info({ failures }, "outbox relay recovered");
        failures = 0;
      } catch (err) {
        failures++;
        logRelayFailure(err, failures);
      }
      if (Date.now() - lastSample > BACKLOG_SAMPLE_MS) {
        lastSample = Date.now();
        await countOutboxBacklog().then(
          (n) => outboxBacklog.set(n),
          () => {},
        );
      }
      if (Date.now() - lastPurge > PURGE_EVERY_MS) {
        lastPurge = Date.now();
        await purgePublishedOutbox().catch((err) => logger.warn({ err: errorMessage(err) }, "outbox purge failed"));
      }
      if (!stopped) await pause.sleep(failures > 0 ? Math.min(intervalMs * 2 ** failures, MAX_BACKOFF_MS) : intervalMs);
    }
  })();

  const loop: OutboxRelayLoop = {
    kick: () => pause.wake(),
    stop: async () => {
      stopped = true;
      pause.wake();
      await done;
      if (activeLoop === loop) activeLoop = undefined;
    },
  };
  activeLoop = loop;
  return loop;
}

function logRelayFailure(err: unknown, failures: number): void {
  // One line when the outage starts, then one every ~20 failures: a long outage must not flood logs.
  if (failures !== 1 && failures % 20 !== 0) return;
  const reason = errorMessage(err);
  logger.warn({ err: reason, failures }, "outbox relay failed; rows stay in the outbox and are retried");
}

let kickInFlight: Promise<void> | undefined;
let kickAgain = false;

/**
 * Publishes freshly committed outbox rows now, in the background. Call it after COMMIT of any
 * transaction that wrote the outbox. Never throws and never delays the caller: a failure is
 * logged and the rows go out with the next relay pass (every worker runs the loop).
 */
export function kickOutboxRelay(): void {
  try {
    if (activeLoop) {
      activeLoop.kick();
      return;
    }
    if (redis.status !== "ready") return;
    // Kicks during a pass are coalesced into one more pass, so a burst costs two passes, not N.
    if (kickInFlight) {
      kickAgain = true;
      return;
    }
    kickInFlight = (async () => {
      do {
        kickAgain = false;
        await drainOutbox();
      } while (kickAgain);
    })()
      .catch((err) => logger.warn({ err: errorMessage(err) }, "outbox kick failed"))
      .finally(() => {
        kickInFlight = undefined;
      });
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, "outbox kick failed");
  }
}

/** Resolves when a kick started earlier has finished (tests, graceful shutdown). */
export async function settleOutboxKicks(): Promise<void> {
  while (kickInFlight) await kickInFlight;
}
