/**
 * A second process using the real cache module (its own Redis connection, its own single-flight),
 * driven by the cache tests over stdin/stdout, one JSON command per line, one JSON reply per line.
 * Its "database" is a variable: `write` changes it and invalidates, `set` changes it only, `read` loads
 * it through the cache.
 */

import { cache } from "../../src/cache/cache";
import { errorMessage } from "../../src/platform/error-message";
import { cacheFallbacks, cacheHits, cacheLocalHits, cacheMisses } from "../../src/platform/metrics";
import { redis } from "../../src/platform/redis";

interface Command {
  op: "ready" | "read" | "race" | "write" | "set" | "metrics" | "pending";
  namespace?: string;
  key?: string;
  ttl?: number;
  loaderMs?: number;
  value?: string;
  n?: number;
  at?: number;
  timeoutMs?: number;
}

let truth = "initial";
let loads = 0;

const entry = (c: Command) => ({ namespace: c.namespace ?? "child", key: c.key ?? "k", ttlSeconds: c.ttl ?? 60 });

async function loader(ms = 0): Promise<{ value: string }> {
  loads++;
  const value = truth;
  if (ms > 0) await Bun.sleep(ms);
  return { value };
}

async function until(pred: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) return false;
    await Bun.sleep(25);
  }
  return true;
}

const counter = async (metric: typeof cacheHits, namespace: string) =>
  (await metric.get()).values.find((v) => v.labels.namespace === namespace)?.value ?? 0;

async function handle(c: Command): Promise<object> {
  switch (c.op) {
    case "ready":
      return { ready: await until(() => redis.status === "ready", c.timeoutMs ?? 15_000) };
    case "read": {
      const started = performance.now();
      const got = await cache.getOrLoad(entry(c), () => loader(c.loaderMs));
      return { value: got.value, ms: performance.now() - started, loads };
    }
    case "race": {
      if (c.at) await Bun.sleep(Math.max(0, c.at - Date.now()));
      const before = loads;
      const got = await Promise.all(
        Array.from({ length: c.n ?? 100 }, () => cache.getOrLoad(entry(c), () => loader(c.loaderMs))),
      );
      return { loads: loads - before, values: [...new Set(got.map((g) => g.value))] };
    }
    case "write": {
      truth = c.value ?? truth;
      const started = performance.now();
      await cache.invalidate({ namespace: c.namespace ?? "child" });
      return { ms: performance.now() - started, pending: cache.pendingInvalidations };
    }
    case "set":
      // The "database" changes behind the cache's back: only someone else's invalidation tells it.
      truth = c.value ?? truth;
      return { ok: true };
    case "pending":
      return { pending: await until(() => cache.pendingInvalidations === 0, c.timeoutMs ?? 10_000) };
    case "metrics": {
      const ns = c.namespace ?? "child";
      return {
        hits: await counter(cacheHits, ns),
        misses: await counter(cacheMisses, ns),
        fallbacks: await counter(cacheFallbacks, ns),
        localHits: await counter(cacheLocalHits, ns),
      };
    }
  }
}

const decoder = new TextDecoder();
let buffer = "";
for await (const chunk of Bun.stdin.stream()) {
  buffer += decoder.decode(chunk, { stream: true });
  for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
    const line = buffer.slice(0, i);
    buffer = buffer.slice(i + 1);
    if (!line.trim()) continue;
    let reply: object;
    try {
      reply = await handle(JSON.parse(line) as Command);
    } catch (err) {
      reply = { error: errorMessage(err) };
    }
    process.stdout.write(`${JSON.stringify({ reply })}\n`);
  }
}
redis.disconnect();
