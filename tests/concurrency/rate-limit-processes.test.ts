import { describe, expect, it } from "bun:test";
import { type ApiGroup, startApiProcesses } from "../support/processes";
import { PrivateRedis } from "../support/redis-server";

/** One limit for the whole pool: 1 r/s with a burst of 9, so 10 pass at once and the rest wait. */
const LIMITED = { RATE_LIMIT_ENABLED: "true", RATE_LIMIT_RPS: "1", RATE_LIMIT_BURST: "9" };
// Answers 401 without touching PostgreSQL or Redis: only the limiter decides between 401 and 429.
const PATH = "/api/v1/users/me";

async function get(group: ApiGroup, headers: Record<string, string> = {}) {
  // A new connection per request, so the kernel spreads them over the processes (reusePort).
  const res = await fetch(`${group.url}${PATH}`, { headers: { connection: "close", ...headers } });
  const body = await res.text();
  return { status: res.status, headers: res.headers, body };
}

/** Requests arriving before a process has connected to Redis are let through, so wait for that. */
async function startLimited(count: number, env: Record<string, string> = {}) {
  const group = await startApiProcesses(count, { ...LIMITED, ...env });
  try {
    await Promise.all(group.procs.map((p) => p.waitForLine((l) => l.msg === "rate limiter active")));
  } catch (err) {
    await group.stop();
    throw err;
  }
  return group;
}

const servedBy = (group: ApiGroup) =>
  group.procs.map((p) => p.lines.filter((l) => l.msg === "request" && l.path === PATH).length);

describe("application rate limiter across real API processes", () => {
  it("shares one limit between two processes on the same port instead of granting it twice", async () => {
    const group = await startLimited(2);
    try {
      const results = await Promise.all(Array.from({ length: 40 }, () => get(group)));
      const passed = results.filter((r) => r.status !== 429).length;
      // 10 at once, plus at most a refill or two while the requests are in flight; 2x would be 20.
      expect(passed).toBeGreaterThanOrEqual(10);
      expect(passed).toBeLessThanOrEqual(13);
      for (const r of results.filter((x) => x.status === 429)) {
        expect(r.headers.get("content-type")).toContain("application/problem+json");
        expect(JSON.parse(r.body).code).toBe("RATE_LIMITED");
        expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      }
      await Bun.sleep(200); // let the last log lines arrive
      const counts = servedBy(group);
      // Both processes really answered part of the burst, so the count above is shared.
      expect(counts.every((n) => n > 0)).toBe(true);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(40);
    } finally {
      await group.stop();
    }
  }, 30_000);

  it("puts the rate-limit headers on every response, counting down, and honours Retry-After", async () => {
    const group = await startLimited(2);
    try {
      const seen: number[] = [];
      let refused: Awaited<ReturnType<typeof get>> | undefined;
      for (let i = 0; i < 15 && !refused; i++) {
        const r = await get(group);
        expect(r.headers.get("x-ratelimit-limit")).toBe("10");
        expect(r.headers.get("x-ratelimit-reset")).toMatch(/^\d+$/);
        if (r.status === 429) refused = r;
        else {
          expect(r.status).toBe(401); // the route's own answer, with the headers added
          seen.push(Number(r.headers.get("x-ratelimit-remaining")));
        }
      }
      expect(seen[0]).toBe(9);
      expect(seen.at(-1)).toBeLessThanOrEqual(1);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeLessThanOrEqual((seen[i - 1] as number) + 1);
      expect(refused).toBeDefined();

      const wait = Number(refused?.headers.get("retry-after"));
      expect(wait).toBeGreaterThanOrEqual(1);
      await Bun.sleep(wait * 1000 + 100);
      const after = await get(group);
      expect(after.status).toBe(401);
      expect(after.headers.get("x-ratelimit-remaining")).toBe("0");
    } finally {
      await group.stop();
    }
  }, 30_000);

  it("ignores a spoofed X-Forwarded-For when the peer is not a trusted proxy", async () => {
    // The test talks from 127.0.0.1; trusting only some other proxy makes it an untrusted peer.
    const group = await startLimited(1, { TRUSTED_PROXIES: "192.0.2.1" });
    try {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => get(group, { "x-forwarded-for": `198.51.100.${i + 1}` })),
      );
      const passed = results.filter((r) => r.status !== 429).length;
      expect(passed).toBeGreaterThanOrEqual(10);
      expect(passed).toBeLessThanOrEqual(13);
    } finally {
      await group.stop();
    }
  }, 30_000);

  it("lets requests through, and says so in the log, when Redis goes away", async () => {
    const redis = new PrivateRedis();
    await redis.start();
    let group: ApiGroup | undefined;
    try {
      group = await startLimited(1, { RATE_LIMIT_BURST: "2", REDIS_URL: redis.url });
      const before = [];
      for (let i = 0; i < 5; i++) before.push((await get(group)).status);
      expect(before).toContain(429); // the limiter is live on this Redis

      await redis.kill();
      const after = [];
      for (let i = 0; i < 10; i++) {
        const r = await get(group);
        after.push(r.status);
        expect(r.headers.get("x-ratelimit-limit")).toBeNull();
      }
      expect(after.every((s) => s === 401)).toBe(true);
      const warned = await group.procs[0]?.waitForLine((l) => l.msg?.startsWith("rate limiter unavailable"));
      expect(warned?.level).toBe(40);
    } finally {
      await group?.stop();
      await redis.dispose();
    }
  }, 30_000);

  it("stays fast when Redis hangs: one command timeout, then the limiter steps aside for a moment", async () => {
    const redis = new PrivateRedis();
    await redis.start();
    let group: ApiGroup | undefined;
    try {
      group = await startLimited(1, { RATE_LIMIT_BURST: "2", REDIS_URL: redis.url });
      expect((await get(group)).headers.get("x-ratelimit-limit")).toBe("3");

      redis.pause();
      const started = performance.now();
      const statuses = [];
      for (let i = 0; i < 10; i++) statuses.push((await get(group)).status);
      const elapsed = performance.now() - started;
      expect(statuses.every((s) => s === 401)).toBe(true);
      // A 500 ms timeout on each of the 10 would take 5 s or more; expect far less.
      expect(elapsed).toBeLessThan(3_000);
    } finally {
      redis.resume();
      await group?.stop();
      await redis.dispose();
    }
  }, 30_000);
});
