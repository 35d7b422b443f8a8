import type Redis from "ioredis";

/**
 * The cache's Lua scripts. Each touches only keys that share one hash tag (`{event:42}`), so they
 * run unchanged on Redis Cluster. Version counters start from a time-based number instead of 0:
 * after Redis restarts empty, a counter can then never come back to a value that an in-process
 * copy was tagged with before the restart.
 */

/**
 * Returns {version} when the caller's copy is current or it only wants the version ('*'), else
 * {version, value} ({version} when there is no value). Starts the counter when it is missing.
 */
const READ = `
local v = redis.call('GET', KEYS[1])
if not v then
  v = ARGV[2]
  redis.call('SET', KEYS[1], v, 'PX', ARGV[3])
end
if v == ARGV[1] or ARGV[1] == '*' then return {v} end
local value = redis.call('GET', KEYS[2])
if not value then return {v} end
return {v, value}
`;

/** Writes the value only if it was built for the current version; releases the builder's lock. */
const STORE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
end
if redis.call('GET', KEYS[3]) == ARGV[4] then
  redis.call('DEL', KEYS[3])
end
return 1
`;

/** Deletes a lock only if it is still ours (it may have expired and been taken by another builder). */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Moves the version on (INCR), or starts it at a fresh time-based value; keeps it alive. */
const BUMP = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  local v = redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tostring(v)
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`;

export interface CacheScripts {
  evCacheRead(
    versionKey: string,
    valueKey: string,
    knownVersion: string,
    initialVersion: string,
    versionTtlMs: number,
  ): Promise<[string, string?]>;
  evCacheStore(
    versionKey: string,
    valueKey: string,
    lockKey: string,
    version: string,
    payload: string,
    ttlMs: number,
    lockToken: string,
  ): Promise<number>;
  evCacheRelease(lockKey: string, lockToken: string): Promise<number>;
  evCacheBump(versionKey: string, initialVersion: string, versionTtlMs: number): Promise<string>;
}

/** Registers the scripts on a client (ioredis sends EVALSHA, falling back to EVAL once per connection). */
export function withCacheScripts(client: Redis): Redis & CacheScripts {
  const scripted = client as Redis & Partial<CacheScripts>;
  if (!scripted.evCacheRead) {
    client.defineCommand("evCacheRead", { numberOfKeys: 2, lua: READ });
    client.defineCommand("evCacheStore", { numberOfKeys: 3, lua: STORE });
    client.defineCommand("evCacheRelease", { numberOfKeys: 1, lua: RELEASE });
    client.defineCommand("evCacheBump", { numberOfKeys: 1, lua: BUMP });
  }
  return client as Redis & CacheScripts;
}

/** A version no earlier counter can have reached: milliseconds since the epoch × 1000, plus noise. */
export function freshVersion(): string {
  return String(Date.now() * 1000 + Math.floor(Math.random() * 1000));
}
