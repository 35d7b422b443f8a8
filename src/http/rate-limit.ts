import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { config } from "../config";
import { DomainError, ErrorCode } from "../domain/errors";
import { errorMessage } from "../platform/error-message";
import { logger, throttledWarn } from "../platform/logger";
import { isRedisReady, redis, redisBreaker } from "../platform/redis";
import { clientIp } from "./client-ip";
import { limitSubject } from "./ip-address";
import { ProblemWithHeaders } from "./problem";
import { LocalBuckets, type RateLimitDecision, type RateLimitPolicy } from "./rate-limit-buckets";
import type { AppEnv } from "./router";

/**
 * Per-client rate limiting shared by every API process, without a Redis round trip per request.
 *
 * The shared bucket is GCRA in Redis (a token bucket kept as one "theoretical arrival time",
 * TAT, on Redis's clock). Each process keeps a local view of the buckets it has seen and decides
 * most requests from that view alone; every RATE_LIMIT_SYNC_MS (50 ms) it adds what it admitted
 * to Redis in one pipelined write per tick and reads each bucket's global state back.
 *
 * A request is decided locally only while (a) the view says the bucket is less than half used and
 * (b) this process has fewer than L admissions of that subject not yet confirmed by Redis, with
 * L = floor(0.2 × (burst + 1) / processes) (0.2: RATE_LIMIT_UNSYNCED_SHARE; processes counted
 * in Redis, at least 2). Otherwise
 * (near the limit, a burst, a refusal) it is decided by one atomic script call in Redis that
 * also carries this process's pending count. So at any moment the requests Redis has not yet
 * counted are at most processes × L ≤ 20 % of the burst, and a view is at most one sync old:
 * the pool admits at most the limit plus about 20 % of the burst, and a client well below its
 * limit costs no Redis call of its own (its counts ride on the next sync). See docs/security.md.
 */

export type { RateLimitDecision, RateLimitPolicy } from "./rate-limit-buckets";

const AUTH_PATHS = new Set(["/api/v1/auth/token", "/api/v1/auth/register"]);
const EXEMPT_PATHS = new Set(["/health", "/ready", "/metrics"]);

export interface RateLimiterOptions {
  enabled: boolean;
  general: RateLimitPolicy;
  /** For the routes that pay for a bcrypt hash on every call. */
  auth: RateLimitPolicy;
}

/** The stricter login/register policy derives from the general one (defaults: 3 r/s, burst 5). */
export function policiesFromConfig(rps: number, burst: number): Pick<RateLimiterOptions, "general" | "auth"> {
  return {
    general: { name: "api", rps, burst },
    auth: { name: "auth", rps: Math.max(1, Math.ceil(rps / 5)), burst: Math.ceil(burst / 2) },
  };
}

let announcing = false;
/** Logs when limiting (re)starts: at start-up and after every Redis outage. One listener per process. */
function announceWhenReady(): void {
  if (announcing) return;
  announcing = true;
  const announce = () => logger.info("rate limiter active");
  if (isRedisReady()) announce();
  redis.on("ready", announce);
}

const warnSync = throttledWarn(10_000, "rate limiter: could not add local counts to redis");
const buckets = new LocalBuckets(config.RATE_LIMIT_SYNC_MS, config.RATE_LIMIT_UNSYNCED_SHARE, (err) =>
  warnSync({ err: errorMessage(err) }),
);

export function createRateLimiter(opts: RateLimiterOptions): MiddlewareHandler<AppEnv> {
  const warnFailOpen = throttledWarn(10_000, "rate limiter unavailable: letting requests through");
  const failOpen = (reason: string) => warnFailOpen({ err: reason });

  if (opts.enabled) announceWhenReady();

  return createMiddleware<AppEnv>(async (c, next) => {
    if (!opts.enabled || EXEMPT_PATHS.has(c.req.path)) return next();
    const policy = AUTH_PATHS.has(c.req.path) ? opts.auth : opts.general;
    // Not connected, or hung (the client's breaker is open): a call would fail or wait for nothing.
    if (!isRedisReady()) {
      failOpen(`redis is ${redis.status}, breaker ${redisBreaker.isOpen ? "open" : "closed"}`);
      return next();
    }
    let decision: RateLimitDecision | undefined;
    try {
      const taken = buckets.take(policy, limitSubject(clientIp(c)));
      decision = taken instanceof Promise ? await taken : taken;
    } catch (err) {
      failOpen(errorMessage(err));
    }
    if (!decision) return next();

    const headers: Record<string, string> = {
      "x-ratelimit-limit": String(decision.limit),
      "x-ratelimit-remaining": String(decision.remaining),
      "x-ratelimit-reset": String(decision.resetSeconds),
    };
    if (!decision.allowed) {
      const wait = decision.retryAfterSeconds;
      const refusal = new DomainError(
        ErrorCode.RATE_LIMITED,
        `Too many requests from your address; retry in ${wait} s.`,
        {
          retryAfterSeconds: wait,
        },
      );
      throw new ProblemWithHeaders(refusal, headers);
    }
    // Handlers that build their response whole (sendJson) put these in it: setting headers on a
    // finished Response costs more than the rest of a cached read.
    c.set("rateLimitHeaders", headers);
    await next();
    if (!c.get("rateLimitSent")) for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  });
}

export const rateLimit = createRateLimiter({
  enabled: config.RATE_LIMIT_ENABLED,
  ...policiesFromConfig(config.RATE_LIMIT_RPS, config.RATE_LIMIT_BURST),
});
