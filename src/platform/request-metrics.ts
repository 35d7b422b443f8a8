import type { Registry } from "prom-client";

/**
 * http_requests_total and http_request_duration_seconds, kept in plain numbers on the hot path.
 * prom-client hashes and validates the labels on every observe(), which measured several percent
 * of a cached read; here a request costs two Map lookups and a bucket search. The series are
 * turned into prom-client's JSON shape only when scraped, so the registry (text, snapshots,
 * AggregatorRegistry sums across processes) treats them like its own metrics.
 */

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** One method on one route template: its latency histogram and its count per status. */
interface RouteSeries {
  labels: { method: string; route: string };
  /** Per bucket (not cumulative); the last slot is +Inf. */
  counts: number[];
  sum: number;
  count: number;
  statuses: Map<number, number>;
}

/** One sample in prom-client's JSON shape. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

type Kind = "counter" | "histogram";

/** A prom-client-compatible metric whose values come from a function at scrape time. */
interface ScrapedMetric {
  name: string;
  help: string;
  type: Kind;
  aggregator: "sum";
  get(): Promise<{ name: string; help: string; type: Kind; aggregator: "sum"; values: Sample[] }>;
  reset(): void;
}

export class RequestMetrics {
  /** Route template → method → series: two lookups and no string built per request. */
  private readonly routes = new Map<string, Map<string, RouteSeries>>();

  /** Bounded: routes are templates and statuses a small set. */
  record(method: string, route: string, status: number, seconds: number): void {
    let byMethod = this.routes.get(route);
    if (!byMethod) {
      byMethod = new Map();
      this.routes.set(route, byMethod);
    }
    let series = byMethod.get(method);
    if (!series) {
      const counts = new Array<number>(BUCKETS.length + 1).fill(0);
      series = { labels: { method, route }, counts, sum: 0, count: 0, statuses: new Map() };
      byMethod.set(method, series);
    }
    let bucket = 0;
    while (bucket < BUCKETS.length && seconds > (BUCKETS[bucket] as number)) bucket++;
    series.counts[bucket] = (series.counts[bucket] as number) + 1;
    series.sum += seconds;
    series.count++;
    series.statuses.set(status, (series.statuses.get(status) ?? 0) + 1);
  }

  private *series(): Iterable<RouteSeries> {
    for (const byMethod of this.routes.values()) yield* byMethod.values();
  }

  registerIn(registry: Registry): void {
    for (const metric of [this.totalsMetric(), this.durationMetric()]) registry.registerMetric(metric as never);
  }

  private totalsMetric(): ScrapedMetric {
    const name = "http_requests_total";
    return this.scraped(name, "HTTP requests by method, route template and status", "counter", () =>
      [...this.series()].flatMap((s) =>
        [...s.statuses].map(([status, value]) => ({ labels: { ...s.labels, status: String(status) }, value })),
      ),
    );
  }

  private durationMetric(): ScrapedMetric {
    const name = "http_request_duration_seconds";
    return this.scraped(name, "HTTP request latency by method and route template", "histogram", () => {
      const values: Sample[] = [];
      for (const s of this.series()) {
        let cumulative = 0;
        s.counts.forEach((n, i) => {
          cumulative += n;
          const le = i < BUCKETS.length ? (BUCKETS[i] as number) : "+Inf";
          values.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${name}_sum` });
        values.push({ labels: { ...s.labels }, value: s.count, metricName: `${name}_count` });
      }
      return values;
    });
  }

  private scraped(name: string, help: string, type: Kind, values: () => Sample[]): ScrapedMetric {
    return {
      name,
      help,
      type,
      aggregator: "sum",
      get: async () => ({ name, help, type, aggregator: "sum", values: values() }),
      reset: () => this.routes.clear(),
    };
  }
}
