import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import Redis from "ioredis";
import { Cache, invalidate } from "../../src/cache/cache";
import { ACK_WAIT_MS } from "../../src/cache/coherence";
import { waitForRedis } from "../../src/platform/redis";
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
    const child = await startChild();
    await child.send({ op: "set", value: "v0" });
    const before = await untilLocalHits(child, namespace);

    for (let i = 1; i <= 100; i++) {
      await child.send({ op: "set", value: `v${i}` });
      // Not invalidated yet: the child still answers from what it cached.
      if (i % 10 === 0) expect((await child.send({ op: "read", namespace })).value).toBe(`v${i - 1}`);
      await invalidate({ namespace });
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
    expect((await child.send({ op: "read", namespace })).value).toBe("new");
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
