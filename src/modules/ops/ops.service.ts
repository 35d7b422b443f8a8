import { sql } from "../../platform/db";
import { logger } from "../../platform/logger";
import { isRedisStarting, redis, waitForRedis } from "../../platform/redis";

export interface Readiness {
  status: "ok" | "degraded" | "unavailable";
  postgres: "ok" | "down";
  redis: "ok" | "degraded";
}

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);

/** PostgreSQL is required; Redis only speeds things up, so its absence is "degraded". */
export async function checkReadiness(): Promise<Readiness> {
  const [pg, rd] = await Promise.allSettled([
    withTimeout(sql`select 1`, 2_000),
    // A process that has just started may still be connecting: give it a moment. After an outage
    // the answer is "degraded" at once (a hung Redis: the client's breaker fails the ping at once).
    (isRedisStarting() ? waitForRedis(500) : Promise.resolve()).then(() => withTimeout(redis.ping(), 1_000)),
  ]);
  if (pg.status === "rejected") logger.warn({ err: String(pg.reason) }, "readiness: postgres unreachable");
  if (rd.status === "rejected") logger.warn({ err: String(rd.reason) }, "readiness: redis unreachable");
  const postgres = pg.status === "fulfilled" ? "ok" : "down";
  const redisState = rd.status === "fulfilled" ? "ok" : "degraded";
  const status = postgres === "down" ? "unavailable" : redisState === "ok" ? "ok" : "degraded";
  return { status, postgres, redis: redisState };
}
