import type Redis from "ioredis";

/**
 * The cache's Lua scripts. Each touches only keys that share one hash tag (`{event:42}`), so they
 * run unchanged on Redis Cluster. Version counters start from a time-based number instead of 0:
 * after Redis restarts empty, a counter can then never come back to a value that an in-process
 * copy was tagged with before the restart.
 */

/**
 * Returns {version, age} when the caller's copy is current or it only wants the version ('*'),
 * else {version, age, value} ({version, age} when there is no value). Starts the counter when it
 * is missing. age: milliseconds since the version was made by a bump (KEYS[3]), -1 when unknown.
 */
const READ = `
local v = redis.call('GET', KEYS[1])
if not v then
  v = ARGV[2]
  redis.call('SET', KEYS[1], v, 'PX', ARGV[3])
end
local age = -1
local bumped = redis.call('GET', KEYS[3])
if bumped then
  local t = redis.call('TIME')
  age = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(bumped)
end
if v == ARGV[1] or ARGV[1] == '*' then return {v, age} end
local value = redis.call('GET', KEYS[2])
if not value then return {v, age} end
return {v, age, value}
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

/**
 * Moves the version on (INCR), or starts it at a fresh time-based value; keeps it alive; records
 * when (KEYS[2], Redis's clock) and answers {version, hot}: hot = 1 when the previous bump was
 * less than ARGV[3] ms ago (coherence.ts: then no process can trust a copy of the version this
 * bump replaces). The announcement to the in-process tiers goes out from READERS, on the
 * coherence shard: a script may only publish on a shard channel of its own hash slot (Redis Cluster).
 */
const BUMP = `
local v
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  -- Read back as a string: Lua's tostring would round a 16-digit counter to 14 digits.
  v = redis.call('GET', KEYS[1])
else
  v = ARGV[1]
  redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local previous = redis.call('GET', KEYS[2])
redis.call('SET', KEYS[2], tostring(now), 'PX', ARGV[2])
local hot = 0
if previous and now - tonumber(previous) < tonumber(ARGV[3]) then hot = 1 end
return {v, hot}
`;

/** Registers (or extends) a reader's lease until Redis's now + ARGV[2] ms; forgets long-dead readers. */
const LEASE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60000)
return 1
`;

/**
 * Tells every process's in-process tier (coherence.ts) "<nonce> <scope key> <version>" (SPUBLISH on
 * ARGV[1], a shard channel in the readers key's slot), then returns {now, id, lease end, id, lease
 * end, ...}: the readers whose lease has not ended, by Redis's clock. A reader that registers its
 * lease after this has received the message before its PING is answered.
 */
const READERS = `
redis.call('SPUBLISH', ARGV[1], ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local readers = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf', 'WITHSCORES')
table.insert(readers, 1, tostring(now))
return readers
`;

export interface CacheScripts {
  evCacheRead(
    versionKey: string,
    valueKey: string,
    bumpedAtKey: string,
    knownVersion: string,
    initialVersion: string,
    versionTtlMs: number,
  ): Promise<[string, number, string?]>;
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
  evCacheBump(
    versionKey: string,
    bumpedAtKey: string,
    initialVersion: string,
    versionTtlMs: number,
    hotScopeMs: number,
  ): Promise<[string, number]>;
  evCacheLease(readersKey: string, readerId: string, leaseMs: number): Promise<number>;
  evCacheReaders(readersKey: string, channel: string, message: string): Promise<string[]>;
}

/** Registers the scripts on a client (ioredis sends EVALSHA, falling back to EVAL once per connection). */
export function withCacheScripts(client: Redis): Redis & CacheScripts {
  const scripted = client as Redis & Partial<CacheScripts>;
  if (!scripted.evCacheRead) {
    client.defineCommand("evCacheRead", { numberOfKeys: 3, lua: READ });
    client.defineCommand("evCacheStore", { numberOfKeys: 3, lua: STORE });
    client.defineCommand("evCacheRelease", { numberOfKeys: 1, lua: RELEASE });
    client.defineCommand("evCacheBump", { numberOfKeys: 2, lua: BUMP });
    client.defineCommand("evCacheLease", { numberOfKeys: 1, lua: LEASE });
    client.defineCommand("evCacheReaders", { numberOfKeys: 1, lua: READERS });
    // An invalidation sends the bump and the reader list in one round trip, the list queued behind
    // the bump (coherence.ts). A first EVALSHA on a connection would fail with NOSCRIPT and be
    // re-sent after the list was read, so the bump is loaded as soon as each connection is ready.
    const preload = () => {
      client.script("LOAD", BUMP).catch(() => {
        // Redis went away again: the next "ready" loads it.
      });
    };
    client.on("ready", preload);
    if (client.status === "ready") preload();
  }
  return client as Redis & CacheScripts;
}

/** Where a scope's last bump time is kept: beside its version key, in the same hash slot. */
export function bumpedAtKeyOf(versionKey: string): string {
  return `${versionKey}:t`;
}

/** A version no earlier counter can have reached: milliseconds since the epoch × 1000, plus noise. */
export function freshVersion(): string {
  return String(Date.now() * 1000 + Math.floor(Math.random() * 1000));
}
