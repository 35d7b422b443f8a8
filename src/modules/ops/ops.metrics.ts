import { AggregatorRegistry, Registry } from "prom-client";
import { Streams } from "../../messaging/catalog";
import { countOutboxBacklog } from "../../messaging/relay";
import { deadLetterStream, recordGroupBacklogs } from "../../messaging/streams";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import {
  deadLetterGauge,
  outboxBacklog,
  POOL_SAMPLED_METRICS,
  processMetricsText,
  processRegistry,
  registry,
  waitlistSizeGauge,
} from "../../platform/metrics";
import { redis } from "../../platform/redis";
import { waitlistIndexKey, waitlistKey } from "../waitlist/waitlist.service";

/**
 * /metrics for a pool of API processes behind one port. Each process publishes a snapshot of its
 * own counters and histograms to Redis every few seconds; whichever process answers a scrape sums
 * the live snapshots (prom-client's AggregatorRegistry) and adds pool-level gauges it samples
 * itself at that moment. Without Redis it answers with its own numbers only (logged).
 */
const SNAPSHOTS = "{metrics}:api";
const SEEN = "{metrics}:api:seen";
const PUBLISH_EVERY_MS = 2_000;
const STALE_AFTER_MS = 15_000;
const processId = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

type MetricJson = Awaited<ReturnType<typeof registry.getMetricsAsJSON>>[number];

async function ownSnapshot(): Promise<MetricJson[]> {
  return (await registry.getMetricsAsJSON()).filter((m) => !POOL_SAMPLED_METRICS.has(m.name));
}

export async function publishProcessMetrics(): Promise<void> {
  const now = Date.now();
  await redis
    .multi()
    .hset(SNAPSHOTS, processId, JSON.stringify(await ownSnapshot()))
    .zadd(SEEN, now, processId)
    .exec();
}

/** Publishes this process's snapshot on a timer; returns a stop function. */
export function startMetricsPublisher(): () => void {
  const publish = () =>
    publishProcessMetrics().catch((err) => logger.debug({ err: errorMessage(err) }, "metrics snapshot not published"));
  void publish();
  const timer = setInterval(publish, PUBLISH_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

async function otherSnapshots(): Promise<MetricJson[][]> {
  const now = Date.now();
  const stale = await redis.zrangebyscore(SEEN, "-inf", String(now - STALE_AFTER_MS));
  if (stale.length > 0)
    await redis
      .multi()
      .hdel(SNAPSHOTS, ...stale)
      .zrem(SEEN, ...stale)
      .exec();
  const all = await redis.hgetall(SNAPSHOTS);
  return Object.entries(all)
    .filter(([id]) => id !== processId)
    .map(([, json]) => JSON.parse(json) as MetricJson[]);
}

async function sampleStreams(): Promise<void> {
  for (const stream of Object.values(Streams)) {
    deadLetterGauge.set({ stream }, await redis.xlen(deadLetterStream(stream)));
    await recordGroupBacklogs(stream);
  }
}

async function sampleWaitlists(): Promise<void> {
  waitlistSizeGauge.reset();
  const ids = await redis.smembers(waitlistIndexKey);
  const sizes = await Promise.all(ids.map((id) => redis.zcard(waitlistKey(Number(id)))));
  const empty = ids.filter((_, i) => sizes[i] === 0);
  if (empty.length > 0) await redis.srem(waitlistIndexKey, ...empty);
  ids.forEach((id, i) => {
    if ((sizes[i] ?? 0) > 0) waitlistSizeGauge.set({ event_id: id }, sizes[i] as number);
  });
}

/** The Prometheus text for the whole pool (or this process only, when `scope` is "process"). */
export async function metricsText(scope: "pool" | "process"): Promise<string> {
  const sampled = await Promise.allSettled([
    countOutboxBacklog().then((n) => outboxBacklog.set(n)),
    sampleStreams(),
    sampleWaitlists(),
  ]);
  for (const s of sampled) {
    if (s.status === "rejected") logger.warn({ err: String(s.reason) }, "metrics: a pool gauge could not be sampled");
  }
  if (scope === "process") return processMetricsText();
  try {
    await publishProcessMetrics();
    const others = await otherSnapshots();
    const pool = AggregatorRegistry.aggregate<typeof registry.contentType>([
      await registry.getMetricsAsJSON(),
      ...others,
    ]);
    // Runtime metrics (memory, heap) describe the process that answers, not the pool.
    return (await Registry.merge([pool, processRegistry]).metrics()) as string;
  } catch (err) {
    logger.warn({ err: errorMessage(err) }, "metrics: Redis unavailable, answering with this process's numbers only");
    return processMetricsText();
  }
}
