import { redis } from "../platform/redis";

/** The rate limiter's Redis scripts (GCRA, the batched sync, the process count); used by rate-limit-buckets.ts. */

// ARGV: interval and tolerance (µs), requests already admitted by the caller (counted whatever),
// and 1 to ask for one more token now. Returns {allowed, TAT - now in µs}. The key expires when
// the bucket is full again, so idle clients cost no memory. string.format avoids Lua's 14-digit
// tostring.
const GCRA_LUA = `
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local admitted = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
tat = tat + admitted * interval
local allowed = 0
if ARGV[4] == '1' and tat - tolerance <= now then
  tat = tat + interval
  allowed = 1
end
if (admitted > 0 or allowed == 1) and tat > now then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000))
end
return {allowed, math.floor(tat - now)}
`;

// The periodic sync: adds each bucket's locally admitted count and returns each TAT - now (µs).
// KEYS: the buckets; ARGV[1]: "<interval µs> <admitted>" per key, space-separated, in KEYS order
// (one argument for the whole batch instead of two per key). One call for many keys keeps a sync
// cheap for thousands of clients on a single Redis; on Redis Cluster the keys of one call must
// share a slot (syncGroups).
const GCRA_ADD_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nums = {}
for n in string.gmatch(ARGV[1], '%S+') do nums[#nums + 1] = tonumber(n) end
local out = {}
for i, key in ipairs(KEYS) do
  local interval = nums[2 * i - 1]
  local admitted = nums[2 * i]
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  tat = tat + admitted * interval
  if admitted > 0 and tat > now then
    redis.call('SET', key, string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000))
  end
  out[i] = math.floor(tat - now)
end
return out
`;

// The limiting processes: a sorted set scored by lease end (ms, Redis's clock). Returns how many are live.
const PROCESSES_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])
`;

redis.defineCommand("eventlyGcra", { numberOfKeys: 1, lua: GCRA_LUA });
redis.defineCommand("eventlyRlProcesses", { numberOfKeys: 1, lua: PROCESSES_LUA });
redis.defineCommand("eventlyGcraAdd", { lua: GCRA_ADD_LUA });

export interface LimiterCommands {
  eventlyGcra(
    key: string,
    intervalUs: string,
    toleranceUs: string,
    admitted: number,
    take: 0 | 1,
  ): Promise<[number, number]>;
  eventlyRlProcesses(key: string, id: string, leaseMs: number): Promise<number>;
  /** numberOfKeys first, then the keys, then one "<interval µs> <admitted> …" string. */
  eventlyGcraAdd(...args: (string | number)[]): Promise<number[]>;
}
export const limiterRedis = redis as unknown as LimiterCommands;
