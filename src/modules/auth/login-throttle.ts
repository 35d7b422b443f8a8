import { createHash } from "node:crypto";
import { config } from "../../config";
import { throttledWarn } from "../../infra/logger";
import { redis } from "../../infra/redis";
import { AppError, ErrorCode } from "../../lib/errors";
import { limitSubject, UNKNOWN_CLIENT } from "../../lib/ip-address";

/**
 * Brute-force protection for POST /auth/token (SPEC "Robustness rules"): LOGIN_MAX_FAILURES
 * failures for one account, or five times that from one client, within a 15-minute window
 * → 429. Counters live in Redis so every API process sees the same count.
 *
 * An attempt is counted *before* the password is checked and taken back when it succeeds,
 * so a burst of parallel guesses cannot all slip past a check made before any of them failed.
 */

export const LOGIN_WINDOW_MS = 15 * 60 * 1000;
const IP_FACTOR = 5;

// The window starts at the first failure and is never extended by later ones.
const HIT_LUA = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`;
// DECR of a key that has just expired would leave -1 behind without a TTL: delete instead.
const UNDO_LUA = `
local n = redis.call('DECR', KEYS[1])
if n <= 0 then redis.call('DEL', KEYS[1]) end
return n
`;

redis.defineCommand("eventlyLoginHit", { numberOfKeys: 1, lua: HIT_LUA });
redis.defineCommand("eventlyLoginUndo", { numberOfKeys: 1, lua: UNDO_LUA });

interface ThrottleCommands {
  eventlyLoginHit(key: string, windowMs: number): Promise<[number, number]>;
  eventlyLoginUndo(key: string): Promise<number>;
}
const commands = redis as unknown as ThrottleCommands;

/** Hashed, so e-mail addresses do not sit in Redis key names (and keys stay short). */
const accountKey = (username: string) =>
  `login:acct:${createHash("sha256").update(username.trim().toLowerCase()).digest("hex").slice(0, 32)}`;
const ipKey = (ip: string) => `login:ip:${limitSubject(ip)}`;

const warnFailOpen = throttledWarn(10_000, "login throttle unavailable: not counting failures");
function logFailOpen(err: unknown): void {
  warnFailOpen({ err: (err as Error).message });
}

export interface LoginAttempt {
  /** Records the outcome: success clears the account's failures and un-counts the attempt. */
  settle(succeeded: boolean): Promise<void>;
}

const UNCOUNTED: LoginAttempt = { settle: async () => {} };

/**
 * Counts one login attempt for `username` (any string: unknown e-mails are counted the same
 * way, so a 429 says nothing about whether an account exists) and for the client's IP.
 * Throws 429 with Retry-After when either budget is spent. Fails open when Redis is down.
 */
export async function beginLoginAttempt(username: string, ip: string | undefined): Promise<LoginAttempt> {
  const keys = [accountKey(username)];
  // In-process callers have no address; one shared "unknown" counter would lock them all out.
  if (ip && ip !== UNKNOWN_CLIENT) keys.push(ipKey(ip));
  let hits: [number, number][];
  try {
    hits = await Promise.all(keys.map((k) => commands.eventlyLoginHit(k, LOGIN_WINDOW_MS)));
  } catch (err) {
    logFailOpen(err);
    return UNCOUNTED;
  }
  const limits = [config.LOGIN_MAX_FAILURES, config.LOGIN_MAX_FAILURES * IP_FACTOR];
  const blockedMs = hits.reduce((ms, [count, ttl], i) => (count > (limits[i] as number) ? Math.max(ms, ttl) : ms), 0);
  if (blockedMs > 0) {
    const seconds = Math.max(1, Math.ceil(blockedMs / 1000));
    throw new AppError(429, ErrorCode.RATE_LIMITED, `Too many failed logins; try again in ${seconds} s.`, undefined, {
      "retry-after": String(seconds),
    });
  }
  return {
    async settle(succeeded) {
      if (!succeeded) return;
      try {
        const [account, client] = keys as [string, string | undefined];
        await Promise.all([redis.del(account), client ? commands.eventlyLoginUndo(client) : undefined]);
      } catch (err) {
        logFailOpen(err);
      }
    },
  };
}
