import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** One registry per process; every metric Evently exposes is declared here. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const httpRequests = new Counter({
  name: "http_requests_total",
  help: "HTTP requests by method, route template and status",
  labelNames: ["method", "route", "status"] as const,
  registers: [registry],
});

export const httpDuration = new Histogram({
  name: "http_request_duration_seconds",
  help: "HTTP request latency by method and route template",
  labelNames: ["method", "route"] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [registry],
});

// Cache counters are labelled by namespace only (never by key), so cardinality stays bounded.
export const cacheHits = new Counter({
  name: "evently_cache_hits_total",
  help: "Cache reads answered from Redis or the validated in-process tier, by namespace",
  labelNames: ["namespace"] as const,
  registers: [registry],
});

export const cacheMisses = new Counter({
  name: "evently_cache_misses_total",
  help: "Cache reads that found no current value and rebuilt it (or waited for a rebuild), by namespace",
  labelNames: ["namespace"] as const,
  registers: [registry],
});

export const cacheFallbacks = new Counter({
  name: "evently_cache_fallbacks_total",
  help: "Cache reads served straight from the loader because Redis was unreachable or slow, by namespace",
  labelNames: ["namespace"] as const,
  registers: [registry],
});
