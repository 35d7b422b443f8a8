import calculateSlot from "cluster-key-slot";
import Redis, { type ChainableCommander, Cluster, type ClusterOptions, type RedisOptions } from "ioredis";
import { config } from "../config";
import { throttledWarn } from "./logger";
import { redisUnreplicatedWrites } from "./metrics";
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

/** Set: every client is a Redis Cluster client seeded with these nodes (REDIS_CLUSTER_NODES). */
export const clusterNodes = config.REDIS_CLUSTER_NODES.map((n) => {
  const i = n.lastIndexOf(":");
  return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
});
export const isClusterMode = clusterNodes.length > 0;

// The cluster nodes take REDIS_URL's credentials (a cluster has one password).
function credentials(): Pick<RedisOptions, "username" | "password"> {
  const url = URL.canParse(config.REDIS_URL) ? new URL(config.REDIS_URL) : undefined;
  return {
    ...(url?.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url?.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/**
 * The one factory of Redis clients: a standalone client for REDIS_URL, or, with
 * REDIS_CLUSTER_NODES, an ioredis Cluster client. Both are typed `Redis`: the Cluster client has
 * the same command interface (every command, script and MULTI here touches one hash slot; see
 * docs/scale.md), and the few places that differ ask `isClusterMode`.
 */
export function createRedisClient(options: RedisOptions = {}, patient = false): Redis {
  const merged = { ...baseOptions, ...options };
  if (!isClusterMode) return new Redis(config.REDIS_URL, merged);
  const { keyPrefix, enableOfflineQueue, enableAutoPipelining, maxRetriesPerRequest, ...nodeOptions } = merged;
  const clusterOptions: ClusterOptions = {
    keyPrefix,
    enableOfflineQueue,
    enableAutoPipelining,
    scaleReads: "master",
    // During a failover the dead master's slots refuse connections, then answer CLUSTERDOWN until
    // its replica is promoted (a few seconds). A request-path client fails such a command at once,
    // like any Redis outage (callers fall back); a `patient` one (blocking stream reads) retries.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: patient ? 100 : 0,
    retryDelayOnTryAgain: patient ? 100 : 0,
    maxRedirections: patient ? 16 : 3,
    slotsRefreshTimeout: 1_000,
    clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2_000),
    redisOptions: { ...nodeOptions, ...credentials(), maxRetriesPerRequest },
  };
  return new Cluster(clusterNodes, clusterOptions) as unknown as Redis;
}

/** The Redis Cluster hash slot of `key` (unprefixed, as commands take it). */
export function hashSlot(key: string): number {
  return calculateSlot(config.REDIS_KEY_PREFIX + key);
}

/**
 * A plain connection for sharded pub/sub on the shard that owns `slotKey`'s hash slot (SSUBSCRIBE
 * and PING must share one connection to one node: coherence.ts relies on the PONG following every
 * message published before it on that node). Standalone: a duplicate of `client`. Cluster: a
 * connection to the master currently serving the slot, or undefined while the slot map is unknown;
 * such a connection is never redirected, so its owner replaces it when it closes (failover).
 */
export function createShardSubscriber(client: Redis, slotKey: string, options: RedisOptions): Redis | undefined {
  if (!isClusterMode) return client.duplicate(options);
  const cluster = client as unknown as Cluster;
  const owner = cluster.slots[calculateSlot(`${cluster.options.keyPrefix ?? ""}${slotKey}`)]?.[0];
  if (!owner) return undefined;
  const i = owner.lastIndexOf(":");
  return new Redis({
    ...baseOptions,
    ...credentials(),
    ...options,
    host: owner.slice(0, i),
    port: Number(owner.slice(i + 1)),
    // A dead owner is replaced, not retried: its slot has moved to the promoted replica.
    retryStrategy: () => null,
  });
}

export const redis = logConnectionErrors(createRedisClient(), "main");
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
    createRedisClient(
      {
        commandTimeout: undefined,
        enableAutoPipelining: true,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
      },
      true,
    ),
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

export class NotReplicatedError extends Error {
  constructor(op: string, acked: number, wanted: number) {
    super(`redis write (${op}) confirmed by ${acked} of ${wanted} replicas`);
    this.name = "NotReplicatedError";
  }
}

type PipelineReply = [Error | null, unknown][] | null;

function repliesOf(reply: PipelineReply, count: number): unknown[] {
  if (!reply) throw new Error("redis pipeline was not executed");
  return reply.slice(0, count).map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/**
 * Runs `add`'s commands in one pipeline (their keys share one hash slot: one node), and, with
 * REDIS_WAIT_REPLICAS > 0, returns only once the node's connected replicas (up to that many) hold
 * them (WAIT): a failover that promotes one of them cannot lose the write. Throws
 * NotReplicatedError (counted in evently_redis_unreplicated_writes_total) when they did not confirm
 * in REDIS_WAIT_TIMEOUT_MS; the caller retries or refuses, it never reports the write as done.
 * `slotKey` is any key in the commands' slot (routes the WAIT to the same node on a cluster). A
 * master with no connected replica has nothing a failover could promote: nothing to wait for.
 */
export async function execReplicated(
  client: Redis,
  op: string,
  slotKey: string,
  add: (p: ChainableCommander) => void,
): Promise<unknown[]> {
  const wanted = config.REDIS_WAIT_REPLICAS;
  const p = client.pipeline();
  add(p);
  const count = p.length;
  if (wanted > 0) p.role();
  const reply = (await p.exec()) as PipelineReply;
  const values = repliesOf(reply, count);
  if (wanted === 0) return values;
  const role = reply?.[count]?.[1] as [string, number, unknown[]] | undefined;
  const connected = role?.[0] === "master" ? (role[2]?.length ?? 0) : 0;
  const target = Math.min(wanted, connected);
  if (target === 0) return values;
  // EXISTS only routes the WAIT to the node that took the writes, on the connection that sent them.
  const waited = (await client
    .pipeline()
    .exists(slotKey)
    .wait(target, config.REDIS_WAIT_TIMEOUT_MS)
    .exec()) as PipelineReply;
  const acked = Number(waited?.[1]?.[1] ?? 0);
  if (acked < target) {
    redisUnreplicatedWrites.inc({ op });
    throw new NotReplicatedError(op, acked, target);
  }
  return values;
}
