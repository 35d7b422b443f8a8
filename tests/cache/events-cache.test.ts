import { beforeAll, describe, expect, it } from "bun:test";
import { cacheLoads } from "../../src/platform/metrics";
import { waitForRedis } from "../../src/platform/redis";
import { createEvent, seatInvariants } from "../support/fixtures";
import { adminToken, api, manyUsers } from "../support/http";
import { freePort, repoRoot, spawnLogged, startApiProcesses, waitForHttp } from "../support/processes";
import { PrivateRedis } from "../support/redis-server";

let admin: { token: string };
beforeAll(async () => {
  await waitForRedis(5_000);
  admin = await adminToken();
});

const loads = async (namespace: string) =>
  (await cacheLoads.get()).values.find((v) => v.labels.namespace === namespace)?.value ?? 0;

describe("cached event reads", () => {
  it("builds a cold event document once for 200 simultaneous readers", async () => {
    const event = await createEvent(admin.token, { capacity: 20 });
    const before = await loads("event");
    const responses = await Promise.all(Array.from({ length: 200 }, () => api("GET", `/api/v1/events/${event.id}`)));
    expect(responses.every((r) => r.status === 200 && r.body.available_seats === 20)).toBe(true);
    expect((await loads("event")) - before).toBe(1);
  });

  it("never shows available seats going up while 200 bookings land, and ends equal to the database", async () => {
    const event = await createEvent(admin.token, { capacity: 200 });
    const buyers = await manyUsers(200, "cache-buyer");
    let done = false;
    const readers = Array.from({ length: 4 }, async () => {
      const seen: number[] = [];
      while (!done) seen.push((await api("GET", `/api/v1/events/${event.id}`)).body.available_seats);
      return seen;
    });
    // In waves of 50 simultaneous buyers, so the readers' requests interleave with the bookings.
    for (let i = 0; i < buyers.length; i += 50) {
      await Promise.all(
        buyers
          .slice(i, i + 50)
          .map((b) => api("POST", `/api/v1/events/${event.id}/bookings`, { token: b.token, body: { quantity: 1 } })),
      );
    }
    done = true;
    for (const seen of await Promise.all(readers)) {
      expect(seen.length).toBeGreaterThan(1);
      for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeLessThanOrEqual(seen[i - 1] as number);
    }
    const final = (await api("GET", `/api/v1/events/${event.id}`)).body;
    const db = await seatInvariants(event.id);
    expect(final).toMatchObject({ available_seats: db.available, booked_seats: db.booked });
    expect(final.available_seats).toBe(0);
  }, 60_000);

  it("never serves a booked seat as available once the booking response is sent", async () => {
    const event = await createEvent(admin.token, { capacity: 30 });
    const [buyer] = await manyUsers(1, "reader-writer");
    for (let n = 1; n <= 10; n++) {
      await api("GET", `/api/v1/events/${event.id}/seats?status=AVAILABLE`); // warm
      await api("GET", `/api/v1/events/${event.id}`);
      expect((await api("POST", `/api/v1/events/${event.id}/book/${n}`, { token: buyer?.token })).status).toBe(201);
      const free = await api("GET", `/api/v1/events/${event.id}/seats?status=AVAILABLE`);
      expect(free.body.some((s: { seat_number: number }) => s.seat_number === n)).toBe(false);
      expect((await api("GET", `/api/v1/events/${event.id}`)).body.booked_seats).toBe(n);
    }
    const list = await api("GET", `/api/v1/events/?name=${encodeURIComponent(event.name)}`);
    expect(list.body).toHaveLength(1);
    await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { name: `${event.name} renamed` } });
    expect((await api("GET", `/api/v1/events/?name=${encodeURIComponent(event.name)}`)).body[0].name).toBe(
      `${event.name} renamed`,
    );
  });
});

describe("two API processes, one answering reads from memory", () => {
  it("never shows the second process's readers a seat that the first one has sold", async () => {
    const port = freePort();
    const metricsPort = freePort();
    // Bookings follow each other within a second here. CACHE_HOT_SCOPE_MS=0 (on both sides, as it
    // must be) lets the reader serve each new version from memory at once, so that this test shows
    // memory answers between writes; the hot-scope rule has its own test (cache-coherence.test.ts).
    const other = spawnLogged([process.execPath, `${repoRoot}/src/server.ts`], {
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: "warn",
      CACHE_HOT_SCOPE_MS: "0",
    });
    const writerPort = freePort();
    const writer = spawnLogged([process.execPath, `${repoRoot}/src/server.ts`], {
      PORT: String(writerPort),
      METRICS_PORT: "0",
      LOG_LEVEL: "warn",
      CACHE_HOT_SCOPE_MS: "0",
    });
    const book = async (seat: number, token: string | undefined) =>
      (
        await fetch(`http://127.0.0.1:${writerPort}/api/v1/events/${event.id}/book/${seat}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        })
      ).status;
    let event: { id: number } = { id: 0 };
    const base = `http://127.0.0.1:${port}`;
    const readOther = async (path: string) => (await fetch(`${base}${path}`)).json() as Promise<any>;
    const localHits = async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics?scope=process`)).text();
      return Number(/evently_cache_local_hits_total\{namespace="event"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    try {
      await waitForHttp(`${base}/health`);
      await waitForHttp(`http://127.0.0.1:${writerPort}/health`);
      event = await createEvent(admin.token, { capacity: 40 });
      // Four buyers: ten seats each is the per-user limit.
      const buyers = await manyUsers(4, "two-process-buyer");
      for (const end = Date.now() + 5_000; (await localHits()) === 0 && Date.now() < end; ) {
        await readOther(`/api/v1/events/${event.id}`);
        await readOther(`/api/v1/events/${event.id}/seats?status=AVAILABLE`);
      }
      const before = await localHits();
      expect(before).toBeGreaterThan(0);

      for (let seat = 1; seat <= 40; seat++) {
        // Read twice first, so the second process holds the document and the map in memory.
        for (let i = 0; i < 2; i++) {
          expect((await readOther(`/api/v1/events/${event.id}`)).booked_seats).toBe(seat - 1);
          await readOther(`/api/v1/events/${event.id}/seats?status=AVAILABLE`);
        }
        expect(await book(seat, buyers[seat % 4]?.token)).toBe(201);
        const free = (await readOther(`/api/v1/events/${event.id}/seats?status=AVAILABLE`)) as {
          seat_number: number;
        }[];
        expect(free.some((s) => s.seat_number === seat)).toBe(false);
        expect((await readOther(`/api/v1/events/${event.id}`)).booked_seats).toBe(seat);
      }
      expect((await localHits()) - before).toBeGreaterThanOrEqual(40);
    } finally {
      other.proc.kill("SIGKILL");
      writer.proc.kill("SIGKILL");
    }
  }, 60_000);
});

/** One API process whose only Redis is `redis`, and timed calls to it. */
async function apiOnPrivateRedis(redis: PrivateRedis, env: Record<string, string> = {}) {
  const api = await startApiProcesses(1, { REDIS_URL: redis.url, ...env });
  const timed = async (method: string, path: string, token?: string, body?: unknown) => {
    const t = performance.now();
    const res = await fetch(`${api.url}${path}`, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any, ms: performance.now() - t };
  };
  const eventHits = async () => {
    const text = await (await fetch(`${api.metricsUrl}/metrics`)).text();
    return Number(/evently_cache_hits_total\{namespace="event"\} (\d+)/.exec(text)?.[1] ?? 0);
  };
  return { timed, eventHits, stop: () => api.stop() };
}

describe("Redis outage (a private redis-server killed or paused mid-run)", () => {
  it("keeps booking, listing, reading and analytics correct, reports degraded, and fills the cache again after Redis returns", async () => {
    const redis = new PrivateRedis();
    await redis.start();
    const api = await apiOnPrivateRedis(redis);
    const { timed } = api;
    try {
      const event = await createEvent(admin.token, { capacity: 5 });
      const [buyer] = await manyUsers(1, "outage-buyer");
      expect((await timed("GET", `/api/v1/events/${event.id}`)).body.available_seats).toBe(5);

      await redis.kill();
      const booked = await timed("POST", `/api/v1/events/${event.id}/book/1`, buyer?.token);
      expect(booked.status).toBe(201);
      const read = await timed("GET", `/api/v1/events/${event.id}`);
      expect(read.body).toMatchObject({ available_seats: 4, booked_seats: 1 });
      const list = await timed("GET", `/api/v1/events/?name=${encodeURIComponent(event.name)}`);
      expect(list.body).toHaveLength(1);
      const summary = await timed("GET", "/api/v1/analytics/summary", admin.token);
      expect(summary.status).toBe(200);
      const ready = await timed("GET", "/ready");
      expect(ready.body).toMatchObject({ status: "degraded", postgres: "ok", redis: "degraded" });
      for (const r of [booked, read, list, summary, ready]) expect(r.ms).toBeLessThan(2_000);
      // Reconnecting is not starting: /ready does not wait for the connection to come back.
      expect(ready.ms).toBeLessThan(250);

      await redis.start();
      let hitsAfter = 0;
      const hitsBefore = await api.eventHits();
      for (let i = 0; i < 100 && hitsAfter <= hitsBefore; i++) {
        await Bun.sleep(100);
        expect((await timed("GET", `/api/v1/events/${event.id}`)).body.available_seats).toBe(4);
        hitsAfter = await api.eventHits();
      }
      expect(hitsAfter).toBeGreaterThan(hitsBefore);
      // /ready answers from a check at most about a second old.
      let again = await timed("GET", "/ready");
      for (let i = 0; i < 30 && again.body.redis !== "ok"; i++) {
        await Bun.sleep(100);
        again = await timed("GET", "/ready");
      }
      expect(again.body.redis).toBe("ok");
    } finally {
      await api.stop();
      await redis.dispose();
    }
  }, 60_000);

  it("pays one command timeout when Redis hangs, then answers correctly at PostgreSQL speed, and uses Redis again once it answers", async () => {
    const redis = new PrivateRedis();
    await redis.start();
    // The rate limiter on too (with room to spare), so its Redis call is part of every request.
    const api = await apiOnPrivateRedis(redis, {
      RATE_LIMIT_ENABLED: "true",
      RATE_LIMIT_RPS: "1000",
      RATE_LIMIT_BURST: "1000",
    });
    const { timed } = api;
    try {
      const event = await createEvent(admin.token, { capacity: 5 });
      const buyers = await manyUsers(3, "hung-buyer");
      const round = async (seat: number) => [
        await timed("POST", `/api/v1/events/${event.id}/book/${seat}`, buyers[seat - 1]?.token),
        await timed("GET", `/api/v1/events/${event.id}`),
        await timed("GET", `/api/v1/events/?name=${encodeURIComponent(event.name)}`),
        await timed("GET", "/api/v1/analytics/summary", admin.token),
        await timed("GET", "/ready"),
      ];
      expect((await timed("GET", `/api/v1/events/${event.id}`)).body.available_seats).toBe(5);

      redis.pause();
      // The first requests meet the 500 ms command timeout (and a booking waits out one reader
      // lease for its invalidation); from then on Redis is skipped until it answers again.
      const first = await round(1);
      const second = await round(2);
      for (const r of first) expect(r.ms).toBeLessThan(1_500);
      for (const r of second) expect(r.ms).toBeLessThan(250);
      for (const [booked, read, list, summary, ready] of [first, second]) {
        expect(booked?.status).toBe(201);
        expect(list?.body).toHaveLength(1);
        expect(summary?.status).toBe(200);
        expect(ready?.body).toMatchObject({ status: "degraded", postgres: "ok", redis: "degraded" });
        expect(read?.status).toBe(200);
      }
      expect(second[1]?.body).toMatchObject({ available_seats: 3, booked_seats: 2 });

      redis.resume();
      let ready = await timed("GET", "/ready");
      for (let i = 0; i < 50 && ready.body.redis !== "ok"; i++) {
        await Bun.sleep(100);
        ready = await timed("GET", "/ready");
      }
      expect(ready.body.redis).toBe("ok");
      const hitsBefore = await api.eventHits();
      let hitsAfter = hitsBefore;
      for (let i = 0; i < 100 && hitsAfter <= hitsBefore; i++) {
        await Bun.sleep(100);
        expect((await timed("GET", `/api/v1/events/${event.id}`)).body.available_seats).toBe(3);
        hitsAfter = await api.eventHits();
      }
      expect(hitsAfter).toBeGreaterThan(hitsBefore);
    } finally {
      redis.resume();
      await api.stop();
      await redis.dispose();
    }
  }, 60_000);
});
