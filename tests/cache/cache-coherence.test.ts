import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import Redis from "ioredis";
import { Cache, invalidate } from "../../src/cache/cache";
import { ACK_WAIT_MS, HOT_SCOPE_MS } from "../../src/cache/coherence";
import { cacheAckTimeouts } from "../../src/platform/metrics";
import { redis, waitForRedis } from "../../src/platform/redis";
import { CacheChild } from "../support/cache-child-driver";
import { PrivateRedis } from "../support/redis-server";

/**
 * Reads served from process memory without a Redis round trip (src/cache/coherence.ts), seen
 * from outside: a second process holds a cached value while its "database" changes behind its back,
 * so only an invalidation from this process can make it read the new value.
 */

let n = 0;
const children: CacheChild[] = [];
const startChild = async (env: Record<string, string> = {}) => {
  const child = CacheChild.start(env);
  children.push(child);
  expect((await child.send({ op: "ready" })).ready).toBe(true);
  return child;
};

/** Reads until the child answers from memory (its first lease is a few milliseconds away). */
async function untilLocalHits(child: CacheChild, namespace: string): Promise<number> {
  for (const end = Date.now() + 5_000; Date.now() < end; await Bun.sleep(20)) {
    await child.send({ op: "read", namespace });
    const { localHits } = await child.send({ op: "metrics", namespace });
    if (localHits > 0) return localHits;
  }
  throw new Error("the child never answered from memory");
}

beforeAll(async () => {
  expect(await waitForRedis(5_000)).toBe(true);
});

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
});

describe("in-process cache tier kept coherent across processes", () => {
  it("answers repeated reads from memory, yet sees another process's write as soon as its invalidation returns", async () => {
    const namespace = `coherent-${++n}`;
    // Every write here follows the last within a second: without the hot-scope rule (0 turns it
    // off, on both sides as it must be) the child serves each new version from memory at once.
    const writer = new Cache({ client: redis, hotScopeMs: 0 });
    const child = await startChild({ CACHE_HOT_SCOPE_MS: "0" });
    await child.send({ op: "set", value: "v0" });
    const before = await untilLocalHits(child, namespace);

    for (let i = 1; i <= 100; i++) {
      await child.send({ op: "set", value: `v${i}` });
      // Not invalidated yet: the child still answers from what it cached.
      if (i % 10 === 0) expect((await child.send({ op: "read", namespace })).value).toBe(`v${i - 1}`);
      await writer.invalidate({ namespace });
      expect((await child.send({ op: "read", namespace })).value).toBe(`v${i}`);
      expect((await child.send({ op: "read", namespace })).value).toBe(`v${i}`);
    }
    const after = await child.send({ op: "metrics", namespace });
    // About one read in two after each write came from memory; the rest reloaded or asked Redis.
    expect(after.localHits - before).toBeGreaterThanOrEqual(50);
  }, 30_000);

  it("waits for a stalled reader at most CACHE_ACK_WAIT_MS, and the reader never serves what it missed once it runs again", async () => {
    const namespace = `stalled-${++n}`;
    const child = await startChild();
    await child.send({ op: "set", value: "old" });
    await untilLocalHits(child, namespace);
    await child.send({ op: "set", value: "new" });
    expect((await child.send({ op: "read", namespace })).value).toBe("old");

    const timeoutsBefore = (await cacheAckTimeouts.get()).values[0]?.value ?? 0;
    process.kill(child.pid, "SIGSTOP");
    let ms: number;
    try {
      const started = performance.now();
      await invalidate({ namespace });
      ms = performance.now() - started;
    } finally {
      process.kill(child.pid, "SIGCONT");
    }
    // The writer neither ignored the silent reader nor waited for it longer than the bound (plus
    // the bump's own round trip on a loaded machine).
    expect(ms).toBeGreaterThanOrEqual(ACK_WAIT_MS);
    expect(ms).toBeLessThan(ACK_WAIT_MS + 250);
    expect((await cacheAckTimeouts.get()).values[0]?.value).toBe(timeoutsBefore + 1);
    expect((await child.send({ op: "read", namespace })).value).toBe("new");
  }, 30_000);

  it("answers a write to a hot scope without waiting for a stalled reader, which still never serves what it missed", async () => {
    const namespace = `hot-${++n}`;
    const child = await startChild();
    await child.send({ op: "set", value: "v0" });
    await untilLocalHits(child, namespace);
    // The first write to a quiet scope waits for the child's acknowledgement as usual.
    await child.send({ op: "set", value: "v1" });
    await invalidate({ namespace });
    expect((await child.send({ op: "read", namespace })).value).toBe("v1");
    // Within CACHE_HOT_SCOPE_MS of that bump the child does not trust its copy of v1 ...
    const { localHits } = await child.send({ op: "metrics", namespace });
    expect((await child.send({ op: "read", namespace })).value).toBe("v1");
    expect((await child.send({ op: "metrics", namespace })).localHits).toBe(localHits);

    // ... so the next write need not hear from it: stalled, it delays nobody.
    await child.send({ op: "set", value: "v2" });
    const timeoutsBefore = (await cacheAckTimeouts.get()).values[0]?.value ?? 0;
    const started = performance.now();
    process.kill(child.pid, "SIGSTOP");
    try {
      await invalidate({ namespace });
    } finally {
      process.kill(child.pid, "SIGCONT");
    }
    expect(performance.now() - started).toBeLessThan(HOT_SCOPE_MS);
    expect((await cacheAckTimeouts.get()).values[0]?.value ?? 0).toBe(timeoutsBefore);
    expect((await child.send({ op: "read", namespace })).value).toBe("v2");
    // Once the version is older than CACHE_HOT_SCOPE_MS the child serves it from memory again.
    await Bun.sleep(HOT_SCOPE_MS);
    let hits = localHits;
    for (const end = Date.now() + 5_000; hits === localHits && Date.now() < end; await Bun.sleep(20)) {
      expect((await child.send({ op: "read", namespace })).value).toBe("v2");
      hits = (await child.send({ op: "metrics", namespace })).localHits;
    }
    expect(hits).toBeGreaterThan(localHits);
  }, 30_000);

  it("never trusts what it cached before its subscription broke, even after it subscribes again", async () => {
    const server = new PrivateRedis();
    await server.start();
    const writerClient = new Redis(server.url, { keyPrefix: process.env.REDIS_KEY_PREFIX });
    try {
      await new Promise((resolve) => writerClient.once("ready", resolve));
      const writer = new Cache({ client: writerClient });
      const namespace = `broken-${++n}`;
      const child = await startChild({ REDIS_URL: server.url });
      await child.send({ op: "set", value: "old" });
      await untilLocalHits(child, namespace);
      await child.send({ op: "set", value: "new" });

      // The child's subscriber is the only one so far: drop it, and invalidate while it is gone.
      const admin = new Redis(server.url);
      expect(Number(await admin.call("CLIENT", "KILL", "TYPE", "pubsub"))).toBe(1);
      admin.disconnect();
      await writer.invalidate({ namespace });
      // Subscribed and leased again (it answers another key from memory), it still reads "new".
      await untilLocalHits(child, `${namespace}-other`);
      expect((await child.send({ op: "read", namespace })).value).toBe("new");
    } finally {
      writerClient.disconnect();
      await server.kill();
    }
  }, 30_000);
});

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop()));
});
