import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { CacheChild } from "../support/cache-child-driver";
import { PrivateRedis } from "../support/redis-server";

/**
 * A process whose only Redis is a private redis-server that this test kills, pauses and restarts.
 * Bounds are generous on purpose (shared CI cores): they separate "fell back at once" from "waited
 * for a timeout of seconds or hung", not fast from slightly faster.
 */
const EXTRA_MS_BOUND = 1_000;

const server = new PrivateRedis();
let child: CacheChild;

beforeAll(async () => {
  await server.start();
  child = CacheChild.start({ REDIS_URL: server.url });
  expect((await child.send({ op: "ready" })).ready).toBe(true);
});

afterAll(async () => {
  await child?.stop();
  server.resume();
  await server.kill();
});

const read = (loaderMs = 0) => child.send({ op: "read", namespace: "outage", loaderMs });
const metrics = () => child.send({ op: "metrics", namespace: "outage" });

describe("cache with Redis going away", () => {
  it("keeps answering correctly and quickly while Redis is killed, and fills again after a restart", async () => {
    await child.send({ op: "write", namespace: "outage", value: "a" });
    expect((await read()).value).toBe("a");
    const warm = await read();
    expect(warm.value).toBe("a");
    const loadsWhenWarm = warm.loads;

    await server.kill();
    for (let i = 0; i < 5; i++) {
      const r = await read();
      expect(r.value).toBe("a");
      expect(r.ms).toBeLessThan(EXTRA_MS_BOUND);
    }
    expect((await read()).loads).toBeGreaterThan(loadsWhenWarm);

    // A write during the outage: its invalidation cannot reach Redis, yet readers see it at once.
    const write = await child.send({ op: "write", namespace: "outage", value: "b" });
    expect(write.ms).toBeLessThan(EXTRA_MS_BOUND);
    expect(write.pending).toBe(1);
    expect((await read()).value).toBe("b");

    // Redis being down does not turn a crowd into a crowd of queries either.
    const crowd = await child.send({ op: "race", namespace: "outage", n: 200, loaderMs: 100 });
    expect(crowd.loads).toBe(1);
    expect(crowd.values).toEqual(["b"]);

    const before = await metrics();
    expect(before.fallbacks).toBeGreaterThan(0);
    await server.start();
    expect((await child.send({ op: "ready" })).ready).toBe(true);
    expect((await child.send({ op: "pending" })).pending).toBe(true);
    // Recovery is automatic: within a few seconds reads are hits again (and still correct).
    let after = before;
    for (const end = Date.now() + 5_000; after.hits <= before.hits && Date.now() < end; after = await metrics()) {
      expect((await read()).value).toBe("b");
    }
    expect(after.hits).toBeGreaterThan(before.hits);
    const settled = await read();
    expect((await read()).loads).toBe(settled.loads);
  });

  it("never serves a value invalidated while Redis hung, once Redis answers again", async () => {
    await child.send({ op: "write", namespace: "outage", value: "c" });
    expect((await read()).value).toBe("c");
    expect((await read()).value).toBe("c");

    // Paused, Redis keeps its data (including the value "c") but answers nothing.
    server.pause();
    const write = await child.send({ op: "write", namespace: "outage", value: "d" });
    expect(write.ms).toBeLessThan(EXTRA_MS_BOUND);
    expect(write.pending).toBe(1);
    for (let i = 0; i < 4; i++) {
      const r = await read();
      expect(r.value).toBe("d");
      expect(r.ms).toBeLessThan(EXTRA_MS_BOUND);
    }

    server.resume();
    for (let i = 0; i < 10; i++) {
      expect((await read()).value).toBe("d");
      await Bun.sleep(100);
    }
    expect((await child.send({ op: "pending" })).pending).toBe(true);
    const hitsBefore = (await metrics()).hits;
    let hits = hitsBefore;
    for (const end = Date.now() + 5_000; hits <= hitsBefore && Date.now() < end; hits = (await metrics()).hits) {
      expect((await read()).value).toBe("d");
    }
    expect(hits).toBeGreaterThan(hitsBefore);
  });
});
