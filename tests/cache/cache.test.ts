import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import path from "node:path";
import { Glob } from "bun";
import type Redis from "ioredis";
import { Cache, type CacheEntry, cache, getOrLoadJson, invalidate } from "../../src/cache/cache";
import { decodeValue, valueKeyOf, versionKeyOf } from "../../src/cache/keys";
import { cacheHits } from "../../src/platform/metrics";
import { redis, waitForRedis } from "../../src/platform/redis";
import { CacheChild } from "../support/cache-child-driver";
import { repoRoot } from "../support/processes";
import { waitFor } from "../support/wait";

let n = 0;
/** A fresh namespace per test, so counters and keys never leak between tests. */
const freshEntry = (extra: Partial<CacheEntry> = {}): CacheEntry => ({
  namespace: `t${++n}`,
  key: "k",
  ttlSeconds: 60,
  ...extra,
});

/** A loader over a mutable "database" that counts its calls. */
function source<T>(initial: T, delayMs = 0) {
  const s = {
    value: initial,
    loads: 0,
    load: async () => {
      s.loads++;
      const v = s.value;
      if (delayMs > 0) await Bun.sleep(delayMs);
      return v;
    },
  };
  return s;
}

const hitsOf = async (namespace: string) =>
  (await cacheHits.get()).values.find((v) => v.labels.namespace === namespace)?.value ?? 0;

const extraClients: Redis[] = [];
async function separateCache(options: Partial<ConstructorParameters<typeof Cache>[0]> = {}): Promise<Cache> {
  const client = redis.duplicate();
  extraClients.push(client);
  if (client.status !== "ready") await new Promise((resolve) => client.once("ready", resolve));
  return new Cache({ client, ...options });
}

beforeAll(async () => {
  // Until the shared client is connected the cache (rightly) bypasses Redis.
  expect(await waitForRedis(5_000)).toBe(true);
});

afterAll(() => {
  for (const c of extraClients) c.disconnect();
});

describe("read-through cache", () => {
  it("answers 200 concurrent readers of a cold key with one load", async () => {
    const entry = freshEntry();
    const db = source({ answer: 42 }, 50);
    const results = await Promise.all(Array.from({ length: 200 }, () => cache.getOrLoad(entry, db.load)));
    expect(db.loads).toBe(1);
    expect(results.every((r) => r.answer === 42)).toBe(true);
    const hitsBefore = await hitsOf(entry.namespace);
    cache.clearLocal();
    expect(await cache.getOrLoad(entry, db.load)).toEqual({ answer: 42 });
    expect(db.loads).toBe(1);
    expect(await hitsOf(entry.namespace)).toBe(hitsBefore + 1);
  });

  it("loads once when two cache users with their own connections and single-flight race", async () => {
    const [a, b] = [await separateCache(), await separateCache()];
    const entry = freshEntry();
    const db = source("v1", 200);
    const calls = Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).getOrLoad(entry, db.load));
    const results = await Promise.all(calls);
    expect(db.loads).toBe(1);
    expect(new Set(results)).toEqual(new Set(["v1"]));
  });

  it("loads once when another process races this one on a cold key", async () => {
    const child = CacheChild.start();
    try {
      expect((await child.send({ op: "ready" })).ready).toBe(true);
      const entry = { namespace: "race", key: "cold", ttlSeconds: 60 };
      const db = source({ value: "initial" }, 300);
      const at = Date.now() + 300;
      const [theirs, ours] = await Promise.all([
        child.send({ op: "race", namespace: "race", key: "cold", n: 100, loaderMs: 300, at }),
        (async () => {
          await Bun.sleep(Math.max(0, at - Date.now()));
          return Promise.all(Array.from({ length: 100 }, () => cache.getOrLoad(entry, db.load)));
        })(),
      ]);
      expect(theirs.loads + db.loads).toBe(1);
      expect(theirs.values).toEqual(["initial"]);
      expect(ours.every((o) => o.value === "initial")).toBe(true);
    } finally {
      await child.stop();
    }
  });

  it("reloads after its scope is invalidated, and only that scope", async () => {
    const one = freshEntry({ entity: 1 });
    const two = { ...one, entity: 2 };
    const db = source("old");
    expect(await cache.getOrLoad(one, db.load)).toBe("old");
    expect(await cache.getOrLoad(two, db.load)).toBe("old");
    db.value = "new";
    expect(await cache.getOrLoad(one, db.load)).toBe("old");
    await invalidate({ namespace: one.namespace, entity: 1 });
    expect(await cache.getOrLoad(one, db.load)).toBe("new");
    expect(await cache.getOrLoad(two, db.load)).toBe("old");
    expect(db.loads).toBe(3);
  });

  it("invalidates for other processes too", async () => {
    const [a, b] = [await separateCache(), await separateCache()];
    const entry = freshEntry();
    const db = source(1);
    expect(await a.getOrLoad(entry, db.load)).toBe(1);
    // a answers before its value lands in Redis; b reads it from there once it has.
    await waitFor(
      async () => decodeValue((await redis.get(valueKeyOf(entry))) ?? "")?.json === "1",
      "a's value in Redis",
    );
    expect(await b.getOrLoad(entry, db.load)).toBe(1);
    db.value = 2;
    await a.invalidate({ namespace: entry.namespace });
    expect(await b.getOrLoad(entry, db.load)).toBe(2);
    // b stores its rebuild in Redis without waiting (the reader is answered first); once it has
    // landed, a finds it there instead of loading again.
    await waitFor(
      async () => decodeValue((await redis.get(valueKeyOf(entry))) ?? "")?.json === "2",
      "b's rebuild in Redis",
    );
    expect(await a.getOrLoad(entry, db.load)).toBe(2);
    expect(db.loads).toBe(2);
  });

  it("never serves a rebuild that began before an invalidation to a reader who came after it", async () => {
    const entry = freshEntry();
    const db = source("before", 200);
    const early = cache.getOrLoad(entry, db.load);
    await Bun.sleep(30);
    db.value = "after";
    await invalidate({ namespace: entry.namespace });
    expect(await cache.getOrLoad(entry, db.load)).toBe("after");
    expect(await early).toBe("before");
    // The early rebuild was tagged with the old version, so Redis never kept it.
    cache.clearLocal();
    expect(await cache.getOrLoad(entry, db.load)).toBe("after");
  });

  it("expires values after their TTL, never later", async () => {
    const entry = freshEntry({ ttlSeconds: 0.3 });
    const db = source("x");
    await cache.getOrLoad(entry, db.load);
    const pttl = await redis.pttl(valueKeyOf(entry));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(300);
    await cache.getOrLoad(entry, db.load);
    expect(db.loads).toBe(1);
    await Bun.sleep(450);
    await cache.getOrLoad(entry, db.load);
    expect(db.loads).toBe(2);
  });

  it("makes waiting readers in another process take the builder's value", async () => {
    const [builder, reader] = [await separateCache(), await separateCache()];
    const entry = freshEntry();
    const db = source("fresh", 300);
    const building = builder.getOrLoad(entry, db.load);
    await Bun.sleep(50);
    expect(await reader.getOrLoad(entry, db.load)).toBe("fresh");
    expect(await building).toBe("fresh");
    expect(db.loads).toBe(1);
  });

  it("serves the previous value during another process's rebuild when stale answers are allowed", async () => {
    const [builder, reader] = [await separateCache(), await separateCache()];
    const entry = freshEntry({ allowStale: true });
    const db = source("v1", 300);
    expect(await reader.getOrLoad(entry, db.load)).toBe("v1");
    db.value = "v2";
    await invalidate({ namespace: entry.namespace });
    const building = builder.getOrLoad(entry, db.load);
    await Bun.sleep(50);
    expect(await reader.getOrLoad(entry, db.load)).toBe("v1");
    expect(await building).toBe("v2");
    await Bun.sleep(50);
    expect(await reader.getOrLoad(entry, db.load)).toBe("v2");
    expect(db.loads).toBe(2);
  });

  it("rebuilds on refresh (the cache warmer's call) so the next reader hits the new value", async () => {
    const entry = freshEntry();
    const db = source("v1");
    await cache.getOrLoad(entry, db.load);
    db.value = "v2";
    expect(String(await cache.refresh(entry, db.load))).toBe(JSON.stringify("v2"));
    cache.clearLocal();
    expect(await cache.getOrLoad(entry, db.load)).toBe("v2");
    expect(db.loads).toBe(2);
  });

  it("never caches a loader error, and hands it to every waiting caller", async () => {
    const entry = freshEntry();
    let calls = 0;
    const failing = async () => {
      calls++;
      await Bun.sleep(20);
      throw new Error("database down");
    };
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => cache.getOrLoad(entry, failing)));
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    expect(calls).toBe(1);
    expect(await cache.getOrLoad(entry, async () => "recovered")).toBe("recovered");
  });

  it("stores precomputed JSON text and hands it back untouched", async () => {
    const entry = freshEntry();
    const json = await getOrLoadJson(entry, async () => ({ b: [1, 2], a: "é" }));
    expect(json as string).toBe('{"b":[1,2],"a":"é"}');
    const raw = (await redis.get(valueKeyOf(entry))) as string;
    expect(raw.endsWith('\n{"b":[1,2],"a":"é"}')).toBe(true);
    expect(raw.split("\n")[0]).toBe((await redis.get(versionKeyOf(entry))) as string);
  });

  it("puts each scope's keys under one Redis Cluster hash tag", () => {
    const entry: CacheEntry = { namespace: "event", entity: 42, key: "seats:ALL", ttlSeconds: 1 };
    expect(versionKeyOf(entry)).toBe("cache:{event:42}:v");
    expect(valueKeyOf(entry)).toBe("cache:{event:42}:f1:seats:ALL");
    expect(() => valueKeyOf({ ...entry, entity: "4}2" })).toThrow();
  });

  it("uses no KEYS or SCAN anywhere in the application code", async () => {
    const offenders: string[] = [];
    for (const file of new Glob("{src,workers}/**/*.ts").scanSync({ cwd: repoRoot })) {
      const text = await Bun.file(path.join(repoRoot, file)).text();
      // Redis clients are named *redis* or *client* here; Map.keys() is fine.
      if (/\w*(redis|client)\w*\.(keys|scan|scanStream|sscan|hscan|zscan)\(|['"](KEYS|SCAN)['"]/i.test(text)) {
        offenders.push(file);
      }
    }
    expect(offenders).toEqual([]);
  });
});
