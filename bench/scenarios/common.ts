import os from "node:os";
import { config } from "../../src/config";
import { runLoad, target } from "../load";
import type { LoadResult, LoadSpec, Percentiles } from "../load-spec";
import { fmt } from "../report";
import type { BenchContext } from "../setup";
import { findWrk, runWrk, wrkCanRun } from "../wrk";

/**
 * Client addresses of every load: enough that each stays under the default per-address limit
 * (15 r/s) at the rates this machine reaches, as a crowd of real clients would.
 */
export const CLIENT_ADDRESSES = 50_000;

/** A duration-bounded load with the run's concurrency and warm-up against `baseUrl`. */
export function timedLoad(
  ctx: BenchContext,
  baseUrl: string,
  request: Pick<LoadSpec, "method" | "path" | "randomMax" | "body" | "tokens">,
): Promise<LoadResult> {
  const { host, port, prefix } = target(baseUrl);
  const spec: LoadSpec = {
    host,
    port,
    concurrency: ctx.options.concurrency,
    warmupMs: ctx.options.warmupS * 1000,
    durationMs: ctx.options.durationS * 1000,
    tokenUse: "random",
    clientAddresses: CLIENT_ADDRESSES,
    ...request,
    path: `${prefix}${request.path}`,
  };
  const wrk = ctx.options.useWrk ? findWrk() : undefined;
  return wrk && wrkCanRun(spec) ? runWrk(wrk, spec) : runLoad(spec);
}

type Request = Pick<LoadSpec, "method" | "path" | "randomMax" | "body" | "tokens">;

/** How many alternating rounds a side's `durationS` is split into: up to 5, each at least 1 s. */
export const roundsOf = (durationS: number) => Math.max(1, Math.min(5, Math.floor(durationS)));

export interface Comparison {
  evently: LoadResult;
  reference: LoadResult;
  /** Median of the per-round ratios (Evently rps / reference rps). */
  ratio: number;
  /** Every round's ratio, in order. */
  rounds: number[];
}

/**
 * Evently against its reference in alternating slices (E, R, E, R, …; up to 5 rounds of at least
 * 1 s, `--duration` per side in all) after one warm-up each, so that a change in the shared
 * machine's background load during the run falls on both sides alike. Each side's figures sum its
 * slices; the ratio is the median of the rounds' ratios, robust to one disturbed slice.
 */
export async function compareLoads(
  ctx: BenchContext,
  evently: { baseUrl: string; request: Request },
  reference: { baseUrl: string; request: Request },
): Promise<Comparison> {
  const { durationS, warmupS } = ctx.options;
  const rounds = roundsOf(durationS);
  const run = (side: typeof evently, seconds: number) =>
    timedLoad({ ...ctx, options: { ...ctx.options, durationS: seconds, warmupS: 0 } }, side.baseUrl, side.request);
  const sides = [evently, reference];
  if (warmupS > 0) for (const side of sides) await run(side, warmupS);
  const results: [LoadResult[], LoadResult[]] = [[], []];
  for (let r = 0; r < rounds; r++) {
    for (const [i, side] of sides.entries()) results[i as 0 | 1].push(await run(side, durationS / rounds));
  }
  const ratios = results[0].map((e, r) => e.rps / (results[1][r]?.rps || Number.NaN));
  return { evently: mergeLoads(results[0]), reference: mergeLoads(results[1]), ratio: median(ratios), rounds: ratios };
}

export const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** The latencies of slices as one (each slice weighted by `count`): p50 the median slice's, the tail the worst's. */
export function mergeLatencies(slices: { latencyMs: Percentiles; count: number }[]): Percentiles {
  const total = slices.reduce((n, s) => n + s.count, 0);
  const worst = (pick: (p: Percentiles) => number) => Math.max(...slices.map((s) => pick(s.latencyMs)));
  return {
    p50: median(slices.map((s) => s.latencyMs.p50)),
    p95: worst((p) => p.p95),
    p99: worst((p) => p.p99),
    max: worst((p) => p.max),
    mean: total ? slices.reduce((n, s) => n + s.latencyMs.mean * s.count, 0) / total : 0,
  };
}

/** Slices of one load as one: counts summed, latencies as mergeLatencies says. */
export function mergeLoads(slices: LoadResult[]): LoadResult {
  const requests = slices.reduce((n, s) => n + s.requests, 0);
  const seconds = slices.reduce((n, s) => n + s.seconds, 0);
  const statuses: Record<string, number> = {};
  for (const s of slices) for (const [k, v] of Object.entries(s.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  return {
    requests,
    seconds,
    rps: seconds ? requests / seconds : 0,
    statuses,
    errors: slices.reduce((n, s) => n + s.errors, 0),
    bytesPerResponse: requests ? slices.reduce((n, s) => n + s.bytesPerResponse * s.requests, 0) / requests : 0,
    latencyMs: mergeLatencies(slices.map((s) => ({ latencyMs: s.latencyMs, count: s.requests }))),
    generator: slices[0]?.generator ?? "bun",
  };
}

/**
 * pgbench clients: as many transactions in flight as the API can have, i.e. the load's
 * concurrency, but never more than the API's database connections (API_WORKERS × DB_POOL_SIZE):
 * beyond those, API requests wait for a connection instead of running a transaction.
 */
export function pgbenchClients(ctx: BenchContext, concurrency: number): { clients: number; threads: number } {
  const clients = Math.max(1, Math.min(concurrency, ctx.options.apiWorkers * config.DB_POOL_SIZE));
  return { clients, threads: Math.min(clients, os.availableParallelism()) };
}

export const share = (r: LoadResult, status: number) => (r.requests ? (r.statuses[status] ?? 0) / r.requests : 0);

export const latencySummary = (p: { p50: number; p99: number }) => `p50 ${fmt.ms(p.p50)}, p99 ${fmt.ms(p.p99)}`;
