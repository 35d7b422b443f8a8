import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import Redis from "ioredis";
import { RedisBreaker, RedisCircuitOpenError } from "../../src/platform/redis-breaker";
import { PrivateRedis } from "../support/redis-server";

/**
 * The request-path client's breaker against a private redis-server that this test pauses
 * (SIGSTOP: the connection stays up, nothing answers), with the same client options as
 * src/infra/redis.ts but a shorter command timeout.
 */
const TIMEOUT_MS = 200;
const server = new PrivateRedis();
let client: Redis & { evBreakerEcho(key: string, value: string): Promise<string> };
let breaker: RedisBreaker;

beforeAll(async () => {
  await server.start();
  client = new Redis(server.url, {
    keyPrefix: "breaker:",
    commandTimeout: TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
  }) as typeof client;
  client.on("error", () => {});
  client.defineCommand("evBreakerEcho", { numberOfKeys: 1, lua: "redis.call('SET', KEYS[1], ARGV[1]) return ARGV[1]" });
  breaker = RedisBreaker.of(client, 50);
  await new Promise((resolve) => client.once("ready", resolve));
});

afterAll(async () => {
  server.resume();
  client.disconnect();
  await server.dispose();
});

/** How a call ended and how long it took. */
async function timed(call: () => Promise<unknown>): Promise<{ ms: number; error?: Error }> {
  const started = performance.now();
  try {
    await call();
    return { ms: performance.now() - started };
  } catch (error) {
    return { ms: performance.now() - started, error: error as Error };
  }
}

describe("Redis circuit breaker", () => {
  it("pays one command timeout for a hung Redis, then fails every call at once until Redis answers again", async () => {
    expect(await client.evBreakerEcho("k", "before")).toBe("before");
    expect(breaker.usable).toBe(true);

    server.pause();
    const first = await timed(() => client.get("k"));
    expect(first.error?.message).toBe("Command timed out");
    expect(first.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
    expect(breaker.isOpen).toBe(true);
    expect(breaker.usable).toBe(false);

    // Plain commands, scripts and a burst of auto-pipelined calls: all refused without waiting.
    const calls = [
      () => client.get("k"),
      () => client.evBreakerEcho("k", "during"),
      () => Promise.all(Array.from({ length: 50 }, (_, i) => client.incr(`n${i}`))),
    ];
    for (const call of calls) {
      const r = await timed(call);
      expect(r.error).toBeInstanceOf(RedisCircuitOpenError);
      expect(r.ms).toBeLessThan(TIMEOUT_MS / 4);
    }

    server.resume();
    const resumed = performance.now();
    while (breaker.isOpen && performance.now() - resumed < 2_000) await Bun.sleep(10);
    expect(breaker.isOpen).toBe(false);
    // Nothing refused while open ever reached Redis.
    expect(await client.get("k")).toBe("before");
    expect(await client.get("n0")).toBeNull();
  });

  it("stays closed when Redis answers with an error instead of hanging", async () => {
    await client.set("text", "not a list");
    const r = await timed(() => client.lpush("text", "x"));
    expect(r.error?.message).toContain("WRONGTYPE");
    expect(breaker.isOpen).toBe(false);
    expect(await client.get("text")).toBe("not a list");
  });
});
