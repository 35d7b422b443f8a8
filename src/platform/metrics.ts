import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import { RequestMetrics } from "./request-metrics";

/** One registry per process; every metric Evently exposes is declared here. */
export const registry = new Registry();

/**
 * prom-client's process and runtime metrics (memory, heap, event loop) live apart: collecting them
 * walks the heap, so they are read only when scraped, never in the API's periodic snapshots.
 */
export const processRegistry = new Registry();
collectDefaultMetrics({ register: processRegistry });

/** Everything this process exposes, as Prometheus text. */
export async function processMetricsText(): Promise<string> {
  return (await Registry.merge([registry, processRegistry]).metrics()) as string;
}

/** http_requests_total and http_request_duration_seconds (see request-metrics.ts). */
export const requestMetrics = new RequestMetrics();
requestMetrics.registerIn(registry);

// Cache counters are labelled by namespace only (never by key), so cardinality stays bounded.
export const cacheHits = new Counter({
  name: "evently_cache_hits_total",
  help: "Cache reads answered from Redis or the validated in-process tier, by namespace",
  labelNames: ["namespace"] as const,
  registers: [registry],
});

export const cacheLocalHits = new Counter({
  name: "evently_cache_local_hits_total",
  help: "Cache hits answered from process memory without asking Redis (a subset of the hits), by namespace",
  labelNames: ["namespace"] as const,
  registers: [registry],
});

// Children resolved once per namespace: a hit (the hottest path) then skips prom-client's label hashing.
const hitCounters = new Map<string, { hits: Counter.Internal; localHits: Counter.Internal }>();

/** Counts a cache hit; `fromMemory` when it was served by the in-process tier without asking Redis. */
export function countCacheHit(namespace: string, fromMemory: boolean): void {
  let counters = hitCounters.get(namespace);
  if (!counters) {
    counters = { hits: cacheHits.labels(namespace), localHits: cacheLocalHits.labels(namespace) };
    hitCounters.set(namespace, counters);
  }
  counters.hits.inc();
  if (fromMemory) counters.localHits.inc();
}

export const cacheMisses = new Counter({
  name: "evently_cache_misses_total",
  help: "Cache reads that found no current value and rebuilt it (or waited for a rebuild), by namespace",
  labelNames: ["namespace"] as const,
  registers: [registry],
});

export const cacheLoads = new Counter({
  name: "evently_cache_loads_total",
  help: "Times a cached value was actually built from its source (PostgreSQL), by namespace",
  labelNames: ["namespace"] as const,
  registers: [registry],
});

export const readinessChecks = new Counter({
  name: "evently_readiness_checks_total",
  help: "Readiness checks actually run (one PostgreSQL select 1 and one Redis PING each); /ready answers from the last one for about a second",
  registers: [registry],
});

export const passwordJobs = new Counter({
  name: "evently_password_jobs_total",
  help: "bcrypt hashes and checks: done, refused (queue full, 503) or abandoned (client gone before its turn)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const cacheOversize = new Counter({
  name: "evently_cache_oversize_total",
  help: "Values built but not stored because they exceed CACHE_MAX_VALUE_BYTES, by namespace",
  labelNames: ["namespace"] as const,
  registers: [registry],
});

export const cacheFallbacks = new Counter({
  name: "evently_cache_fallbacks_total",
  help: "Cache reads served straight from the loader because Redis was unreachable or slow, by namespace",
  labelNames: ["namespace"] as const,
  registers: [registry],
});

export const cacheAckTimeouts = new Counter({
  name: "evently_cache_ack_timeouts_total",
  help: "Invalidations that answered after CACHE_ACK_WAIT_MS without every reader's acknowledgement",
  registers: [registry],
});

export const streamEntriesProcessed = new Counter({
  name: "evently_stream_entries_processed_total",
  help: "Stream entries handled successfully and acknowledged, by stream and consumer group",
  labelNames: ["stream", "group"] as const,
  registers: [registry],
});

export const streamEntriesRetried = new Counter({
  name: "evently_stream_entries_retried_total",
  help: "Stream entries whose handler failed with a retryable error and will be delivered again",
  labelNames: ["stream", "group"] as const,
  registers: [registry],
});

export const streamEntriesDeadLettered = new Counter({
  name: "evently_stream_entries_dead_lettered_total",
  help: "Stream entries copied to <stream>.dead, by reason (permanent_error, retries_exhausted, max_deliveries, malformed)",
  labelNames: ["stream", "group", "reason"] as const,
  registers: [registry],
});

export const streamGroupLag = new Gauge({
  name: "evently_stream_lag",
  help: "Stream entries not yet delivered to the consumer group (sampled by its consumers)",
  labelNames: ["stream", "group"] as const,
  registers: [registry],
});

export const streamGroupLagAlert = new Gauge({
  name: "evently_stream_lag_alert",
  help: "1 while a consumer group's undelivered plus unacknowledged entries are at or above STREAM_LAG_ALERT",
  labelNames: ["stream", "group"] as const,
  registers: [registry],
});

export const streamGroupPending = new Gauge({
  name: "evently_stream_pending",
  help: "Stream entries delivered to the consumer group but not yet acknowledged (sampled by its consumers)",
  labelNames: ["stream", "group"] as const,
  registers: [registry],
});

export const outboxRelayed = new Counter({
  name: "evently_outbox_relayed_total",
  help: "Outbox rows published to their Redis stream",
  labelNames: ["stream"] as const,
  registers: [registry],
});

export const outboxBacklog = new Gauge({
  name: "evently_outbox_backlog",
  help: "Outbox rows not yet published (sampled by the relay loop)",
  registers: [registry],
});

// Booking domain. Label values are fixed sets (paths, error codes), never ids.
export const bookingsTotal = new Counter({
  name: "evently_bookings_total",
  help: "Seats booked, by booking path (single, seats, quantity)",
  labelNames: ["path"] as const,
  registers: [registry],
});

export const bookingConflicts = new Counter({
  name: "evently_booking_conflicts_total",
  help: "Booking requests refused by the seat state (409), by problem code",
  labelNames: ["code"] as const,
  registers: [registry],
});

export const cancellationsTotal = new Counter({
  name: "evently_cancellations_total",
  help: "Bookings cancelled by their owner or an admin",
  registers: [registry],
});

export const waitlistOffers = new Counter({
  name: "evently_waitlist_offers_total",
  help: "Waitlist offers by outcome: made (seat held for the head of the line), accepted (booked by the holder), expired",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

// Live availability streams (src/modules/live): per process, summed over the pool.
export const liveConnections = new Gauge({
  name: "evently_live_connections",
  help: "Open live availability streams (GET /events/{id}/live)",
  registers: [registry],
});

export const liveDelivered = new Counter({
  name: "evently_live_messages_total",
  help: "SSE messages (snapshots, seat changes, heartbeats) queued to live streams",
  registers: [registry],
});

export const liveDropped = new Counter({
  name: "evently_live_dropped_total",
  help: "Live streams ended by the server: slow (unread buffer full), idle (not read for LIVE_IDLE_TIMEOUT_MS), deleted (event deleted), shutdown",
  labelNames: ["reason"] as const,
  registers: [registry],
});

export const liveRefused = new Counter({
  name: "evently_live_refused_total",
  help: "Live streams refused by a cap: per_ip (429) or process (503)",
  labelNames: ["reason"] as const,
  registers: [registry],
});

// Pool-level gauges: sampled by the API process that answers a scrape, straight from Redis and
// PostgreSQL, and never summed across processes (see src/modules/ops/ops.metrics.ts).
export const waitlistSizeGauge = new Gauge({
  name: "evently_waitlist_size",
  help: "People waiting, per event with a non-empty waitlist",
  labelNames: ["event_id"] as const,
  registers: [registry],
});

export const deadLetterGauge = new Gauge({
  name: "evently_dead_letters",
  help: "Entries in <stream>.dead, by source stream",
  labelNames: ["stream"] as const,
  registers: [registry],
});

/** Metric names whose value is a pool-wide sample, not a per-process count. */
export const POOL_SAMPLED_METRICS = new Set([
  "evently_stream_lag",
  "evently_stream_pending",
  "evently_stream_lag_alert",
  "evently_outbox_backlog",
  "evently_waitlist_size",
  "evently_dead_letters",
]);

export const webhookAttempts = new Counter({
  name: "evently_webhook_attempts_total",
  help: "Webhook delivery attempts by outcome: succeeded, failed (retried later), gave_up (window over), refused (SSRF rule)",
  labelNames: ["outcome"] as const,
  registers: [registry],
});

export const webhookSubscriptionsDisabled = new Counter({
  name: "evently_webhook_subscriptions_disabled_total",
  help: "Webhook subscriptions the dispatcher disabled, by reason: gone (410) or failing (too long without a success)",
  labelNames: ["reason"] as const,
  registers: [registry],
});

// --- Scale (docs/scale.md) ---
export const redisUnreplicatedWrites = new Counter({
  name: "evently_redis_unreplicated_writes_total",
  help: "Redis writes (stream entries, waitlist joins, cache version bumps) that no replica confirmed within REDIS_WAIT_TIMEOUT_MS: each was retried or refused, never counted as written; a failover right then could have lost it",
  labelNames: ["op"] as const,
  registers: [registry],
});

export const dbReads = new Counter({
  name: "evently_db_reads_total",
  help: "Reads that could use the PostgreSQL read replica, by where they went (replica, or primary: replica behind, down or not configured)",
  labelNames: ["target", "reason"] as const,
  registers: [registry],
});
