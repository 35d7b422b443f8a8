import Redis, { type RedisOptions } from "ioredis";
import { config } from "../config";
import { throttledWarn } from "./logger";
import { RedisBreaker } from "./redis-breaker";

/**
 * One request-path client. It fails fast while Redis is down (no offline queue, short command
 * timeout, one retry, and a circuit breaker that skips a hung Redis after one timeout) so that
 * callers fall back to PostgreSQL instead of hanging; it keeps reconnecting in the background and
 * recovers by itself.
 */
const baseOptions: RedisOptions = {
  keyPrefix: config.REDIS_KEY_PREFIX,
  commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS,
  connectTimeout: 1_000,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  enableAutoPipelining: true,
  retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2_000),
};

// A down Redis emits an error per reconnect attempt: at most one line every 5 s.
const warnConnectionError = throttledWarn(5_000, "redis connection error");
function logConnectionErrors(client: Redis, name: string): Redis {
  client.on("error", (err) => warnConnectionError({ err: err.message, client: name }));
  return client;
}

export const redis = logConnectionErrors(new Redis(config.REDIS_URL, baseOptions), "main");
export const redisBreaker = RedisBreaker.of(redis);
let connectedOnce = false;
redis.once("ready", () => {
  connectedOnce = true;
});

/** Still making its first connection (just started), as opposed to reconnecting after an outage. */
export function isRedisStarting(): boolean {
  return !connectedOnce;
}

/**
 * A separate connection for blocking reads (XREADGROUP BLOCK): it must not carry a command
 * timeout shorter than the block, and must not hold up the request-path client.
 */
export function createBlockingRedis(name: string): Redis {
  return logConnectionErrors(
    new Redis(config.REDIS_URL, {
      ...baseOptions,
      commandTimeout: undefined,
      enableAutoPipelining: true,
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
    }),
    name,
  );
}

/** Connected and not known to hang: a command is worth sending. */
export function isRedisReady(): boolean {
  return redisBreaker.usable;
}

/** Resolves true once the client is connected, false after `ms` (Redis down or still connecting). */
export function waitForRedis(ms: number): Promise<boolean> {
  if (redis.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      redis.off("ready", onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    redis.once("ready", onReady);
  });
}

export async function closeRedis(): Promise<void> {
  redis.disconnect();
}
