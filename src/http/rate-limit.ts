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
import type { AppEnv } from "./router";

/**
 * Per-client rate limiting shared by every API process: the bucket lives in Redis, so three
 * replicas enforce one limit, not three. GCRA (a token bucket kept as one timestamp) in one
 * Lua script means one round trip per request and no race between read and write.
 */

export interface RateLimitPolicy {
  /** Part of the Redis key, so policies never share a bucket. */
  name: string;
  /** Sustained requests per second. */
  rps: number;
  /** Extra requests allowed at once on top of the first one (nginx's `burst`). */
  burst: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  /** Requests a full bucket allows at once (burst + 1). */
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds to wait before the next request can pass (0 when allowed). */
  retryAfterSeconds: number;
}

// TAT = "theoretical arrival time" in microseconds of Redis's clock, so every process agrees on
// the time. A request passes when TAT - now <= tolerance. The key expires when the bucket is
// full again, so idle clients cost no memory. string.format avoids Lua's 14-digit tostring.
const GCRA_LUA = `
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - tolerance > now then
  return {0, 0, math.ceil((tat - tolerance - now) / 1000), math.ceil((tat - now) / 1000)}
end
local new_tat = tat + interval
local ttl_ms = math.ceil((new_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
local remaining = math.max(0, math.floor((tolerance - (new_tat - now)) / interval) + 1)
return {1, remaining, 0, ttl_ms}
`;

redis.defineCommand("eventlyGcra", { numberOfKeys: 1, lua: GCRA_LUA });

interface GcraCommand {
  eventlyGcra(key: string, intervalUs: string, toleranceUs: string): Promise<[number, number, number, number]>;
}
const gcra = redis as unknown as GcraCommand;

/** Takes one token from the subject's bucket. Throws when Redis fails; callers decide to fail open. */
export async function takeToken(policy: RateLimitPolicy, subject: string): Promise<RateLimitDecision> {
  const intervalUs = 1_000_000 / policy.rps;
  const [allowed, remaining, retryMs, resetMs] = await gcra.eventlyGcra(
    `rl:${policy.name}:${subject}`,
    intervalUs.toFixed(3),
    (intervalUs * policy.burst).toFixed(3),
  );
  return {
    allowed: allowed === 1,
    limit: policy.burst + 1,
    remaining,
    resetSeconds: Math.ceil(resetMs / 1000),
    // Retry-After is whole seconds; never tell a client "0" while refusing it.
    retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(retryMs / 1000)),
  };
}

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
      decision = await takeToken(policy, limitSubject(clientIp(c)));
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
    await next();
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value);
  });
}

export const rateLimit = createRateLimiter({
  enabled: config.RATE_LIMIT_ENABLED,
  ...policiesFromConfig(config.RATE_LIMIT_RPS, config.RATE_LIMIT_BURST),
});
