import { config } from "../../config";
import type { DomainEventPayload } from "../../messaging/catalog";
import type { StreamEntry } from "../../messaging/consumer";
import { PermanentError } from "../../messaging/handler-errors";
import type { Stoppable } from "../../messaging/worker-runner";
import { sql } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { type Logger, logger } from "../../platform/logger";
import { webhookAttempts, webhookSubscriptionsDisabled } from "../../platform/metrics";
import { WakeableSleep } from "../../platform/sleep";
import * as repo from "./webhooks.repo";
import { messageId } from "./webhooks.schemas";
import { attemptDelivery } from "./webhooks.sender";
import { signatureHeader } from "./webhooks.signing";

/**
 * The webhook-dispatcher's work (docs/webhooks.md). Two parts:
 * - fan-out: each `domain.events` entry becomes one delivery row per active subscription that
 *   wants its type (idempotent on the outbox id, so a redelivered entry adds nothing);
 * - delivery: due rows are claimed with SKIP LOCKED and a lease, sent signed, and rescheduled
 *   with exponential back-off and jitter until they succeed or their retry window ends.
 * PostgreSQL holds the schedule (next_attempt_at), so a killed dispatcher loses nothing: its
 * stream entries are taken over by the consumer group, its leased deliveries retried after the lease.
 */

const sleeper = new WakeableSleep();

/** The stream handler: one delivery row per matching subscription, then the sender is woken. */
export async function fanOutDomainEvent(entry: StreamEntry<DomainEventPayload>, log: Logger): Promise<void> {
  const outboxId = Number(entry.outboxId);
  if (!Number.isSafeInteger(outboxId) || outboxId <= 0) {
    throw new PermanentError("domain event without an outbox_id: it cannot be delivered idempotently");
  }
  const { type, event_id, occurred_at, data } = entry.payload;
  const body = JSON.stringify({ type, timestamp: occurred_at, data: { event_id, ...data } });
  const made = await repo.insertDeliveries(sql, {
    outboxId,
    type,
    body,
    windowSeconds: config.WEBHOOK_RETRY_WINDOW_SECONDS,
  });
  if (made > 0) {
    log.info({ type, deliveries: made }, "webhook deliveries created");
    sleeper.wake();
  }
}

/** Finished deliveries (succeeded or failed) are kept this long for GET /webhooks/{id}/deliveries. */
export const DELIVERY_RETENTION_DAYS = 30;

/** Purges finished deliveries past their retention, in batches (a periodic job of the dispatcher). */
export async function purgeOldDeliveries(log: Logger): Promise<void> {
  let total = 0;
  for (let i = 0; i < 100; i++) {
    const n = await repo.purgeFinishedDeliveries(sql, DELIVERY_RETENTION_DAYS, 1_000);
    total += n;
    if (n < 1_000) break;
  }
  if (total > 0) log.info({ deleted: total }, "purged finished webhook deliveries");
}

/** Delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped, ±20 % jitter. */
export function retryDelayMs(
  attempts: number,
  base = config.WEBHOOK_RETRY_BASE_MS,
  max = config.WEBHOOK_RETRY_MAX_DELAY_MS,
): number {
  const exponential = Math.min(base * 2 ** Math.min(Math.max(attempts - 1, 0), 40), max);
  return Math.round(exponential * (0.8 + Math.random() * 0.4));
}

/** Longer than any attempt can take, so a live attempt is never claimed twice. */
const leaseMs = () => 2 * config.WEBHOOK_TIMEOUT_MS + 1_000;

function headersFor(d: repo.ClaimedDelivery, now: Date): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  const secrets = [d.secret];
  if (d.previousSecret && d.previousSecretExpiresAt && d.previousSecretExpiresAt > now) secrets.push(d.previousSecret);
  const id = messageId(d.id);
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signatureHeader(secrets, id, timestamp, d.body),
  };
}

async function disable(tx: Parameters<typeof repo.disableSubscription>[0], subscriptionId: number, reason: string) {
  if (await repo.disableSubscription(tx, subscriptionId, reason)) {
    logger.warn({ subscription_id: subscriptionId, reason }, "webhook subscription disabled");
    return true;
  }
  return false;
}

/** One attempt of one claimed delivery, and its outcome recorded. */
async function deliver(d: repo.ClaimedDelivery, signal: AbortSignal, log: Logger): Promise<void> {
  const outcome = await attemptDelivery(d.url, headersFor(d, new Date()), d.body, {
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    signal,
  });
  if (signal.aborted) {
    // Cut short by shutdown: due again at once for whichever dispatcher looks first.
    await repo.releaseDelivery(sql, d.id);
    return;
  }
  const record = { responseCode: outcome.status, responseBody: outcome.body, error: outcome.error };
  const ids = { id: d.id, subscriptionId: d.subscriptionId };
  if (outcome.ok) {
    await sql.begin((tx) => repo.recordSuccess(tx, ids, record));
    webhookAttempts.inc({ outcome: "succeeded" });
    log.info({ delivery_id: d.id, status: outcome.status, attempts: d.attempts }, "webhook delivered");
    return;
  }
  const delay = retryDelayMs(d.attempts);
  await sql.begin(async (tx) => {
    const { status, failingSince } = await repo.recordFailure(tx, ids, record, delay);
    webhookAttempts.inc({
      outcome: outcome.error?.startsWith("refused") ? "refused" : status === "FAILED" ? "gave_up" : "failed",
    });
    log.warn(
      {
        delivery_id: d.id,
        status: outcome.status,
        err: outcome.error,
        attempts: d.attempts,
        retry_in_ms: status === "PENDING" ? delay : undefined,
      },
      status === "PENDING" ? "webhook attempt failed; will retry" : "webhook delivery failed for good",
    );
    if (outcome.gone) {
      if (await disable(tx, d.subscriptionId, "the receiver answered 410 Gone"))
        webhookSubscriptionsDisabled.inc({ reason: "gone" });
      return;
    }
    const failingMs = failingSince ? Date.now() - failingSince.getTime() : 0;
    if (failingMs >= config.WEBHOOK_DISABLE_AFTER_SECONDS * 1000) {
      const since = failingSince?.toISOString();
      if (
        await disable(tx, d.subscriptionId, `every delivery attempt has failed since ${since} (last: ${outcome.error})`)
      ) {
        webhookSubscriptionsDisabled.inc({ reason: "failing" });
      }
    }
  });
}

/**
 * The sender loop: keeps up to WEBHOOK_CONCURRENCY attempts in flight, claims more as they end,
 * and otherwise looks for due deliveries every WEBHOOK_POLL_INTERVAL_MS (new ones wake it).
 */
export function startDeliveryLoop(): Stoppable {
  const log = logger.child({ job: "webhook-delivery" });
  const inFlight = new Map<number, { abort: AbortController; done: Promise<void> }>();
  let stopping = false;
  const done = (async () => {
    let failures = 0;
    while (!stopping) {
      const free = config.WEBHOOK_CONCURRENCY - inFlight.size;
      let claimed: repo.ClaimedDelivery[] = [];
      if (free > 0) {
        try {
          claimed = await repo.claimDueDeliveries(sql, free, leaseMs());
          failures = 0;
        } catch (err) {
          failures++;
          log.warn({ err: errorMessage(err), failures }, "could not claim webhook deliveries; retrying");
          await sleeper.sleep(Math.min(250 * 2 ** failures, 5_000));
          continue;
        }
      }
      for (const d of claimed) {
        const abort = new AbortController();
        const attempt = deliver(d, abort.signal, log)
          .catch((err) => log.error({ err: errorMessage(err), delivery_id: d.id }, "webhook attempt not recorded"))
          .finally(() => {
            inFlight.delete(d.id);
            sleeper.wake();
          });
        inFlight.set(d.id, { abort, done: attempt });
      }
      if (stopping) break;
      // A full claim means more may be due: look again at once.
      if (free > 0 && claimed.length === free) continue;
      await sleeper.sleep(config.WEBHOOK_POLL_INTERVAL_MS);
    }
    for (const a of inFlight.values()) a.abort.abort();
    await Promise.allSettled([...inFlight.values()].map((a) => a.done));
  })();
  return {
    done,
    async stop() {
      stopping = true;
      sleeper.wake();
      await done;
    },
  };
}
