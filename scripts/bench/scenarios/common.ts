import os from "node:os";
import { config } from "../../../src/config";
import { runLoad, target } from "../load";
import type { LoadResult, LoadSpec } from "../load-spec";
import { fmt } from "../report";
import type { BenchContext } from "../setup";
import { findWrk, runWrk, wrkCanRun } from "../wrk";

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
    ...request,
    path: `${prefix}${request.path}`,
  };
  const wrk = ctx.options.useWrk ? findWrk() : undefined;
  return wrk && wrkCanRun(spec) ? runWrk(wrk, spec) : runLoad(spec);
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
