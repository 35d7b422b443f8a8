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
      const seen: { remaining: number; requestId: string }[] = [];
      let refused: Awaited<ReturnType<typeof get>> | undefined;
      for (let i = 0; i < 15 && !refused; i++) {
        const r = await get(group);
        expect(r.headers.get("x-ratelimit-limit")).toBe("10");
        expect(r.headers.get("x-ratelimit-reset")).toMatch(/^\d+$/);
        if (r.status === 429) refused = r;
        else {
          expect(r.status).toBe(401); // the route's own answer, with the headers added
          seen.push({
            remaining: Number(r.headers.get("x-ratelimit-remaining")),
            requestId: r.headers.get("x-request-id") as string,
          });
        }
      }
      expect(seen[0]?.remaining).toBe(9);
      // Counted down to the end of the burst. Not necessarily in the last answer: a process whose
      // view is a sync old admits one request locally and says what that view says (seen in CI:
      // the last answer said 5, the other process's answers before it had reached 0 or 1).
      expect(Math.min(...seen.map((s) => s.remaining))).toBeLessThanOrEqual(1);
      // 10 at once, at most 20 % of the burst not yet counted in Redis, and a refill: never the
      // 20 of two separate buckets.
      expect(seen.length).toBeLessThanOrEqual(13);
      // Each process counts down from what Redis last told it plus its own requests: its own
      // headers never go up (but for a refill), though the other process's may lag one sync.
      await Bun.sleep(200); // let the access lines arrive
      for (const p of group.procs) {
        const mine = new Set(p.lines.filter((l) => l.msg === "request").map((l) => l.request_id));
        const own = seen.filter((s) => mine.has(s.requestId)).map((s) => s.remaining);
        for (let i = 1; i < own.length; i++) expect(own[i]).toBeLessThanOrEqual((own[i - 1] as number) + 1);
      }
      expect(refused).toBeDefined();

      const wait = Number(refused?.headers.get("retry-after"));
      expect(wait).toBeGreaterThanOrEqual(1);
      await Bun.sleep(wait * 1000 + 100);
      let after = await get(group);
      // Retry-After counts what Redis knew: the other process may have admitted one request it had
      // not yet synced (the documented unsynced share), which moves the bucket one interval (1 s).
      if (after.status === 429) {
        await Bun.sleep(1_000);
        after = await get(group);
      }
      expect(after.status).toBe(401);
      // The answering process's view (docs/security.md): 0 when Redis's answer is fresh, more when
      // this process last heard of the bucket early in the burst (seen once in CI: 6). Never more
      // than the burst, never negative.
      expect(after.headers.get("x-ratelimit-remaining")).toMatch(/^\d+$/);
      expect(Number(after.headers.get("x-ratelimit-remaining"))).toBeLessThanOrEqual(9);
    } finally {
      await group.stop();
    }
  }, 30_000);

  it("holds the limit within 20 % across two processes under sustained load from many connections", async () => {
    // 20 r/s, burst 9; 3 s of 16 connections hammering as fast as they can (new connection each).
    const group = await startLimited(2, { RATE_LIMIT_RPS: "20", RATE_LIMIT_BURST: "9" });
    try {
      const started = performance.now();
      let passed = 0;
      let sent = 0;
      const until = started + 3_000;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (performance.now() < until) {
            const r = await get(group);
            sent++;
            if (r.status !== 429) passed++;
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const allowed = 10 + 20 * seconds;
      expect(sent).toBeGreaterThan(allowed * 2); // really over the limit, on both processes
      expect(passed).toBeGreaterThanOrEqual(Math.floor(allowed * 0.8));
      expect(passed).toBeLessThanOrEqual(Math.ceil(allowed * 1.2));
      await Bun.sleep(200);
      expect(servedBy(group).every((n) => n > 0)).toBe(true);
    } finally {
      await group.stop();
    }
  }, 30_000);

  it("decides a client well below its limit without waiting for Redis", async () => {
    const redis = new PrivateRedis();
    await redis.start();
    let group: ApiGroup | undefined;
    try {
      group = await startLimited(1, { REDIS_URL: redis.url });
      expect((await get(group, { "x-forwarded-for": "198.51.100.200" })).headers.get("x-ratelimit-limit")).toBe("10");
      // Redis stops answering (SIGSTOP). Until the first command times out (500 ms) the limiter
      // counts it as up, yet new clients' requests are answered at once, with their headers.
      redis.pause();
      const started = performance.now();
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await get(group, { "x-forwarded-for": `198.51.100.${210 + i}` }));
      const elapsed = performance.now() - started;
      expect(answers.every((r) => r.status === 401 && r.headers.get("x-ratelimit-remaining") === "9")).toBe(true);
      expect(elapsed).toBeLessThan(300);
    } finally {
      redis.resume();
      await group?.stop();
      await redis.dispose();
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
