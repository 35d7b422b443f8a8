import { createHash } from "node:crypto";
import { config } from "../config";
import { DomainError, ErrorCode } from "../domain/errors";
import { errorMessage } from "../platform/error-message";
import { throttledWarn } from "../platform/logger";
import { redis } from "../platform/redis";
import { limitSubject, UNKNOWN_CLIENT } from "./ip-address";

/**
 * Brute-force protection for POST /auth/token (docs/security.md): LOGIN_MAX_FAILURES
 * failures for one account, or five times that from one client, within a 15-minute window
 * → 429. Counters live in Redis so every API process sees the same count.
 *
 * For the account, an attempt is counted *before* the password is checked (a success clears the
 * count), so a burst of parallel guesses at one account cannot all slip past a check made
 * before any of them failed. For the client address only failures are counted, after the check:
 * counting attempts in flight would refuse a crowd of people logging in at once from one address
 * (an office, a NAT, a test harness) that has not failed at all. A burst of guesses at many
 * accounts from one address may therefore overshoot the address budget by the burst's size,
 * while each account's own budget still holds exactly.
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
// The count and the window's time left, changing nothing (0 and -2 when there is no window).
const PEEK_LUA = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
return {n, redis.call('PTTL', KEYS[1])}
`;

redis.defineCommand("eventlyLoginHit", { numberOfKeys: 1, lua: HIT_LUA });
redis.defineCommand("eventlyLoginPeek", { numberOfKeys: 1, lua: PEEK_LUA });

interface ThrottleCommands {
  eventlyLoginHit(key: string, windowMs: number): Promise<[number, number]>;
  eventlyLoginPeek(key: string): Promise<[number, number]>;
}
const commands = redis as unknown as ThrottleCommands;

/** Hashed, so e-mail addresses do not sit in Redis key names (and keys stay short). */
const accountKey = (username: string) =>
  `login:acct:${createHash("sha256").update(username.trim().toLowerCase()).digest("hex").slice(0, 32)}`;
const ipKey = (ip: string) => `login:ip:${limitSubject(ip)}`;

const warnFailOpen = throttledWarn(10_000, "login throttle unavailable: not counting failures");
function logFailOpen(err: unknown): void {
  warnFailOpen({ err: errorMessage(err) });
}

export interface LoginAttempt {
  /** Records the outcome: success clears the account's count; a failure counts against the address. */
  settle(succeeded: boolean): Promise<void>;
}

const UNCOUNTED: LoginAttempt = { settle: async () => {} };

/**
 * Counts one login attempt for `username` (any string: unknown e-mails are counted the same
 * way, so a 429 says nothing about whether an account exists) and checks the failures of the
 * client's IP. Throws 429 with Retry-After when either budget is spent. Fails open when Redis is
 * down.
 */
export async function beginLoginAttempt(username: string, ip: string | undefined): Promise<LoginAttempt> {
  const account = accountKey(username);
  // In-process callers have no address; one shared "unknown" counter would lock them all out.
  const client = ip && ip !== UNKNOWN_CLIENT ? ipKey(ip) : undefined;
  let accountHits: [number, number];
  let clientFailures: [number, number];
  try {
    [accountHits, clientFailures] = await Promise.all([
      commands.eventlyLoginHit(account, LOGIN_WINDOW_MS),
      client ? commands.eventlyLoginPeek(client) : ([0, 0] as [number, number]),
    ]);
  } catch (err) {
    logFailOpen(err);
    return UNCOUNTED;
  }
  const blockedMs = Math.max(
    accountHits[0] > config.LOGIN_MAX_FAILURES ? accountHits[1] : 0,
    clientFailures[0] >= config.LOGIN_MAX_FAILURES * IP_FACTOR ? clientFailures[1] : 0,
  );
  if (blockedMs > 0) {
    const seconds = Math.max(1, Math.ceil(blockedMs / 1000));
    throw new DomainError(ErrorCode.RATE_LIMITED, `Too many failed logins; try again in ${seconds} s.`, {
      retryAfterSeconds: seconds,
    });
  }
  return {
    async settle(succeeded) {
      try {
        if (succeeded) await redis.del(account);
        else if (client) await commands.eventlyLoginHit(client, LOGIN_WINDOW_MS);
      } catch (err) {
        logFailOpen(err);
      }
    },
  };
}
