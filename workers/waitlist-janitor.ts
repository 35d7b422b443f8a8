import { config } from "../src/config";
import { Streams } from "../src/messaging/catalog";
import { startPeriodic } from "../src/messaging/periodic";
import { deadLetterStream, trimConsumedEntries } from "../src/messaging/streams";
import { runWorker } from "../src/messaging/worker-runner";
import { expireOffers } from "../src/modules/waitlist/waitlist.offers";
import { dropStartedWaitlists } from "../src/modules/waitlist/waitlist.service";
import { purgeExpiredKeys } from "../src/platform/idempotency";
import type { Logger } from "../src/platform/logger";

/**
 * waitlist-janitor: releases offers nobody took in time (each release goes back through the
 * outbox, so the promoter offers the seat to the next person or it stays AVAILABLE), drops the
 * lines of started events, trims streams, and purges expired Idempotency-Keys. Safe as several replicas: expiry claims seats
 * with FOR UPDATE SKIP LOCKED; dropping and trimming are idempotent.
 */
const STREAM_RETENTION_MS = 24 * 3_600_000;

export async function expireDueOffers(log: Logger): Promise<void> {
  let total = 0;
  for (let released = await expireOffers(); released > 0; released = await expireOffers()) total += released;
  if (total > 0) log.info({ released: total }, "expired waitlist offers released");
}

export async function dropOldLines(log: Logger): Promise<void> {
  const dropped = await dropStartedWaitlists();
  if (dropped > 0) log.debug({ events: dropped }, "waitlists of started events dropped");
}

export async function purgeIdempotencyKeys(log: Logger): Promise<void> {
  let total = 0;
  for (let n = await purgeExpiredKeys(); n > 0; n = await purgeExpiredKeys()) total += n;
  if (total > 0) log.info({ purged: total }, "expired idempotency keys purged");
}

export async function trimStreams(log: Logger): Promise<void> {
  for (const stream of Object.values(Streams)) {
    const removed = await trimConsumedEntries(stream, STREAM_RETENTION_MS);
    if (removed > 0) log.info({ stream, removed }, "stream trimmed");
  }
  for (const stream of Object.values(Streams)) {
    await trimConsumedEntries(deadLetterStream(stream), 7 * STREAM_RETENTION_MS);
  }
}

if (import.meta.main) {
  await runWorker("waitlist-janitor", () => [
    startPeriodic({ name: "expire-offers", everyMs: config.JANITOR_INTERVAL_MS, run: expireDueOffers }),
    startPeriodic({ name: "drop-started-waitlists", everyMs: 60_000, run: dropOldLines }),
    startPeriodic({ name: "trim-streams", everyMs: 60_000, run: trimStreams }),
    startPeriodic({ name: "purge-idempotency-keys", everyMs: 10 * 60_000, run: purgeIdempotencyKeys }),
  ]);
}
