import { probeReplica, sql } from "../../platform/db";
import { logger } from "../../platform/logger";
import { readinessChecks } from "../../platform/metrics";
import { isRedisStarting, redis, waitForRedis } from "../../platform/redis";

export interface Readiness {
  status: "ok" | "degraded" | "unavailable";
  postgres: "ok" | "down";
  redis: "ok" | "degraded";
  replica: "none" | "ok" | "down";
}

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);

// /ready is unauthenticated and unthrottled (probes must always get through): one answer per
// second per process, shared by every caller, bounds what a flood of probes costs.
const READY_FOR_MS = 1_000;
let last: { at: number; readiness: Readiness } | undefined;
let inFlight: Promise<Readiness> | undefined;

/** The latest readiness, at most ~1 s old; concurrent callers share one check. */
export function readiness(): Promise<Readiness> {
  if (last && performance.now() - last.at < READY_FOR_MS) return Promise.resolve(last.readiness);
  if (!inFlight) {
    const at = performance.now();
    inFlight = checkReadiness()
      .then((r) => {
        last = { at, readiness: r };
        return r;
      })
      .finally(() => {
        inFlight = undefined;
      });
  }
  return inFlight;
}

/** PostgreSQL is required; Redis only speeds things up, so its absence is "degraded". */
export async function checkReadiness(): Promise<Readiness> {
  readinessChecks.inc();
  const [pg, rd, replica] = await Promise.allSettled([
    withTimeout(sql`select 1`, 2_000),
    // A process that has just started may still be connecting: give it a moment. After an outage
    // the answer is "degraded" at once (a hung Redis: the client's breaker fails the ping at once).
    (isRedisStarting() ? waitForRedis(500) : Promise.resolve()).then(() => withTimeout(redis.ping(), 1_000)),
    withTimeout(probeReplica(), 2_000),
  ]);
  if (pg.status === "rejected") logger.warn({ err: String(pg.reason) }, "readiness: postgres unreachable");
  if (rd.status === "rejected") logger.warn({ err: String(rd.reason) }, "readiness: redis unreachable");
  const postgres = pg.status === "fulfilled" ? "ok" : "down";
  const redisState = rd.status === "fulfilled" ? "ok" : "degraded";
  const replicaState = replica.status === "fulfilled" ? replica.value : "down";
  const status =
    postgres === "down" ? "unavailable" : redisState === "ok" && replicaState !== "down" ? "ok" : "degraded";
  return { status, postgres, redis: redisState, replica: replicaState };
}
