/** What the bench asks of the load generator (scripts/bench/loadgen.ts), and what it answers. */

export interface LoadSpec {
  host: string;
  port: number;
  /** Keep-alive connections, each with one request in flight; opened before the clock starts. */
  concurrency: number;
  /** Load that is sent but not counted (JIT, caches, pools). Ignored with tokenUse "each-once". */
  warmupMs: number;
  /** Measured time. Ignored with tokenUse "each-once" (the run ends when every token was used). */
  durationMs: number;
  method: "GET" | "POST" | "DELETE";
  /** `{n}` is replaced, per request, by a random integer in 1..randomMax. */
  path: string;
  randomMax?: number;
  body?: string;
  /** Bearer tokens: a random one per request, or each exactly once. */
  tokens?: string[];
  tokenUse?: "random" | "each-once";
  /**
   * Requests come from this many client addresses (X-Forwarded-For, which the API believes from
   * its loopback proxy), as real clients would: with tokens, each token's own address; without,
   * a random one per request. The API's per-address rate limit is on, as `bun run start` has it.
   */
  clientAddresses?: number;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  /** Count per HTTP status ("201": 950, "409": 50). */
  statuses: Record<string, number>;
  /** Transport failures (refused, reset, closed mid-answer). */
  errors: number;
  bytesPerResponse: number;
  latencyMs: Percentiles;
  /** Which load generator measured it: scripts/bench/loadgen.ts ("bun") or wrk. */
  generator: "bun" | "wrk";
}

/** Nearest-rank percentiles of a set of samples (milliseconds). */
export function percentiles(samples: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) return { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] as number;
  let sum = 0;
  for (const x of sorted) sum += x;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[n - 1] as number, mean: sum / n };
}
