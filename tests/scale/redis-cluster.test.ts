import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import calculateSlot from "cluster-key-slot";
import type { Cluster } from "ioredis";
import { liveStreamKey } from "../../src/messaging/live";
import { sql } from "../../src/platform/db";
import { createEvent, seatInvariants } from "../support/fixtures";
import { adminToken, manyUsers } from "../support/http";
import {
  type ApiGroup,
  repoRoot,
  type Spawned,
  spawnLogged,
  startApiProcesses,
  stopProcess,
} from "../support/processes";
import { findBinary, RedisClusterFixture } from "../support/redis-cluster";
import { remote } from "../support/remote-api";
import { openSse, type SseClient, type SseMessage } from "../support/sse";
import { waitFor } from "../support/wait";

/**
 * Evently on a real Redis Cluster (REDIS_CLUSTER_NODES): three masters on loopback, two API
 * processes and the workers as child processes. Every Redis feature runs against it: cache with
 * its in-process tier kept coherent across processes (sharded pub/sub), waitlists and their Lua
 * scripts, streams and consumer groups (offers through the promoter), the rate limiter and login
 * throttle. Then a 6-node cluster loses a master (kill -9) in the middle of traffic.
 */

const needed = ["redis-server", "redis-cli"].filter((b) => !findBinary(b));
if (needed.length > 0) throw new Error(`tests/scale/redis-cluster.test.ts needs ${needed.join(", ")} on PATH`);

let admin: { token: string };
const started: { stop(): Promise<void> }[] = [];
const clusters: RedisClusterFixture[] = [];

beforeAll(async () => {
  admin = await adminToken();
});

async function tearDown() {
  for (const s of started.splice(0).reverse()) await s.stop().catch(() => {});
  for (const c of clusters.splice(0)) await c.dispose();
}
afterAll(tearDown);

let prefixes = 0;
function clusterEnv(cluster: RedisClusterFixture, extra: Record<string, string> = {}) {
  return {
    REDIS_CLUSTER_NODES: cluster.seedList,
    // The URL is not used for commands (the cluster wins); a closed port proves it.
    REDIS_URL: "redis://127.0.0.1:1/0",
    REDIS_KEY_PREFIX: `scale:${process.pid}:${++prefixes}:`,
    ...extra,
  };
}

function worker(name: string, env: Record<string, string>): Spawned {
  const w = spawnLogged([process.execPath, `${repoRoot}/workers/${name}.ts`], env);
  started.push({ stop: () => stopProcess(w) });
  return w;
}

async function apiGroup(count: number, env: Record<string, string>): Promise<ApiGroup> {
  const group = await startApiProcesses(count, env);
  started.push(group);
  return group;
}

async function seatRow(eventId: number, n: number) {
  const [row] = await sql<{ status: string; heldBy: number | null }[]>`
    select status, held_by from seats where event_id = ${eventId} and seat_number = ${n}`;
  return row;
}

describe("Evently on a 3-master Redis Cluster", () => {
  let cluster: RedisClusterFixture;
  let env: Record<string, string>;
  let group: ApiGroup;
  let check: Cluster;

  beforeAll(async () => {
    cluster = new RedisClusterFixture(3, 0);
    clusters.push(cluster);
    await cluster.start();
    env = clusterEnv(cluster, { LOGIN_MAX_FAILURES: "3" });
    group = await apiGroup(2, env);
    check = cluster.client(env.REDIS_KEY_PREFIX);
    started.push({ stop: async () => check.disconnect() });
  }, 60_000);
  // The failover below gets the machine to itself.
  afterAll(tearDown, 30_000);

  it("reports the cluster ready (three masters)", async () => {
    const ready = await remote(group.url, "GET", "/ready");
    expect(ready.body).toMatchObject({ status: "ok", redis: "ok" });
    const masters = await cluster.masterPorts();
    expect(masters.length).toBe(3);
  }, 30_000);

  it("books concurrently, and every process sees each booking in the cached document at once", async () => {
    const event = await createEvent(admin.token, { capacity: 40 });
    const users = await manyUsers(80, "cl-book");
    // Warm both processes' caches (memory tier and Redis).
    for (let i = 0; i < 10; i++) await remote(group.url, "GET", `/api/v1/events/${event.id}`);
    expect(await check.exists(`cache:{event:${event.id}}:v`)).toBe(1);

    const results = await Promise.all(
      users.map((u, i) =>
        remote(group.url, "POST", `/api/v1/events/${event.id}/book/${(i % 40) + 1}`, { token: u.token }),
      ),
    );
    expect(results.filter((r) => r.status === 201).length).toBe(40);
    expect(results.filter((r) => r.status === 409).length).toBe(40);
    expect(await seatInvariants(event.id)).toMatchObject({ booked: 40, seatsBookedTwice: 0 });

    // Cancel one at a time; right after each answer, reads from either process show it.
    const booked = results.filter((r) => r.status === 201).slice(0, 5);
    for (const [k, b] of booked.entries()) {
      const owner = users[results.indexOf(b)];
      const cancel = await remote(group.url, "DELETE", `/api/v1/bookings/cancel/${b.body.booking_id}`, {
        token: owner?.token,
      });
      expect(cancel.status).toBe(200);
      const reads = await Promise.all(
        Array.from({ length: 20 }, () => remote(group.url, "GET", `/api/v1/events/${event.id}`)),
      );
      expect(new Set(reads.map((r) => r.body.available_seats))).toEqual(new Set([k + 1]));
    }
    await Bun.sleep(200);
    const answered = group.procs.map((p) => p.lines.filter((l) => l.msg === "request").length);
    expect(answered.every((n) => n > 0)).toBe(true);
  }, 90_000);

  it("offers freed seats to the waitlist through the promoter and notifier workers", async () => {
    const promoter = worker("waitlist-promoter", env);
    const notifier = worker("notifier", env);
    const event = await createEvent(admin.token, { capacity: 3 });
    const buyers = await manyUsers(3, "cl-buyer");
    const bookings: number[] = [];
    for (const [i, b] of buyers.entries()) {
      const r = await remote(group.url, "POST", `/api/v1/events/${event.id}/book/${i + 1}`, { token: b.token });
      expect(r.status).toBe(201);
      bookings.push(r.body.booking_id);
    }
    const waiters = await manyUsers(3, "cl-waiter");
    for (const [i, w] of waiters.entries()) {
      const r = await remote(group.url, "POST", `/api/v1/waitlist/${event.id}`, { token: w.token });
      expect(r.status).toBe(201);
      expect(r.body.position).toBe(i + 1);
    }
    expect(await check.zcard(`{event:${event.id}}:waitlist`)).toBe(3);
    await promoter.waitForLine((l) => l.msg === "worker running", 30_000);
    await notifier.waitForLine((l) => l.msg === "worker running", 30_000);

    for (const [i, id] of bookings.entries()) {
      const r = await remote(group.url, "DELETE", `/api/v1/bookings/cancel/${id}`, { token: buyers[i]?.token });
      expect(r.status).toBe(200);
    }
    await waitFor(async () => (await seatInvariants(event.id)).held === 3, "three offers", 30_000);
    for (const [i, w] of waiters.entries()) expect((await seatRow(event.id, i + 1))?.heldBy).toBe(w.id);
    expect(await check.zcard(`{event:${event.id}}:waitlist`)).toBe(0);
    // Each offer's e-mail reached the notifier through the notifications stream on the cluster.
    await waitFor(
      () => notifier.lines.filter((l) => l.msg === "notification not sent: Mailgun not configured").length >= 3,
      "three offer notifications",
      30_000,
    );
    const accepted = await remote(group.url, "POST", `/api/v1/events/${event.id}/book/1`, { token: waiters[0]?.token });
    expect(accepted.status).toBe(201);
  }, 90_000);

  it("streams live availability of events in different slots on different masters to subscribers of both processes", async () => {
    // Three events whose live streams live on three different masters (so in three slots).
    const byOwner = new Map<number, number>();
    for (let i = 0; i < 30 && byOwner.size < 3; i++) {
      const event = await createEvent(admin.token, { capacity: 6 });
      const owner = await cluster.ownerOf(`${env.REDIS_KEY_PREFIX}${liveStreamKey(event.id)}`);
      if (!byOwner.has(owner)) byOwner.set(owner, event.id);
    }
    const events = [...byOwner.values()];
    expect(events.length).toBe(3);
    const slots = events.map((id) => calculateSlot(`${env.REDIS_KEY_PREFIX}${liveStreamKey(id)}`));
    expect(new Set(slots).size).toBe(3);

    // Subscribers of every event on both API processes (they share one port: open until both have one).
    const clients: SseClient[] = [];
    started.push({
      stop: async () => {
        for (const c of clients) c.close();
      },
    });
    const livePath = (id: number) => `/api/v1/events/${id}/live`;
    const servedBy = (id: number) =>
      group.procs.map((p) => p.lines.filter((l) => l.msg === "request" && l.path === livePath(id)).length);
    const subs = new Map<number, SseClient[]>();
    for (const id of events) {
      const list: SseClient[] = [];
      subs.set(id, list);
      for (let n = 0; n < 40 && (list.length < 3 || servedBy(id).some((k) => k === 0)); n++) {
        const c = await openSse(`${group.url}${livePath(id)}`);
        expect(c.status).toBe(200);
        clients.push(c);
        list.push(c);
        await c.waitFor((m) => m.event === "snapshot", "snapshot");
        // Access lines are written in batches (LOG_FLUSH_INTERVAL_MS): wait for this one's.
        await waitFor(() => servedBy(id).reduce((a, b) => a + b, 0) >= list.length, "the stream's access line");
      }
      expect(servedBy(id).every((k) => k > 0)).toBe(true);
    }

    const changesOf = (m: SseMessage) =>
      (JSON.parse(m.data) as { changes: [number, string, number][] }).changes.map(([s, st]) => `${s}${st}`);
    const hasChange = (seat: number, status: string) => (m: SseMessage) =>
      m.event === "seats" && changesOf(m).includes(`${seat}${status}`);
    // Bookings on each event, spread over both processes.
    const buyers = await manyUsers(12, "cl-live");
    const booked = await Promise.all(
      events.flatMap((id, e) =>
        [1, 2, 3, 4].map((seat) =>
          remote(group.url, "POST", `/api/v1/events/${id}/book/${seat}`, { token: buyers[e * 4 + seat - 1]?.token }),
        ),
      ),
    );
    expect(booked.map((r) => r.status)).toEqual(booked.map(() => 201));
    for (const id of events) {
      for (const c of subs.get(id) ?? []) {
        for (const seat of [1, 2, 3, 4]) await c.waitFor(hasChange(seat, "B"), `event ${id} seat ${seat}`, 20_000);
        expect(c.state.statuses).toBe("BBBBAA");
        expect(c.state.staleVersions).toBe(0);
      }
    }

    // Resume: a subscriber goes away, misses a booking, and comes back with Last-Event-ID (on
    // either process): the missed change, no snapshot.
    const [first] = events;
    const lastId = subs.get(first ?? 0)?.[0]?.lastId() as string;
    expect(lastId).toMatch(/^\d+-\d+$/);
    const late = await manyUsers(1, "cl-live-late");
    expect((await remote(group.url, "POST", `/api/v1/events/${first}/book/6`, { token: late[0]?.token })).status).toBe(
      201,
    );
    for (let i = 0; i < 4; i++) {
      const again = await openSse(`${group.url}${livePath(first ?? 0)}`, { "last-event-id": lastId });
      clients.push(again);
      const m = await again.waitFor((x) => x.event === "seats" || x.event === "snapshot", "resume");
      expect(m.event).toBe("seats");
      await again.waitFor(hasChange(6, "B"), "seat 6 after resume");
      expect(again.messages.some((x) => x.event === "snapshot")).toBe(false);
      again.close();
    }
    for (const c of clients) c.close();
  }, 90_000);

  it("shares one rate limit and one login throttle across processes through the cluster", async () => {
    const limited = await apiGroup(2, {
      ...env,
      REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX}rl:`,
      RATE_LIMIT_ENABLED: "true",
      RATE_LIMIT_RPS: "1",
      RATE_LIMIT_BURST: "9",
      LOGIN_MAX_FAILURES: "3",
    });
    await Promise.all(limited.procs.map((p) => p.waitForLine((l) => l.msg === "rate limiter active", 30_000)));
    const results = await Promise.all(Array.from({ length: 40 }, () => remote(limited.url, "GET", "/api/v1/users/me")));
    const passed = results.filter((r) => r.status === 401).length;
    expect(passed).toBeGreaterThanOrEqual(10);
    expect(passed).toBeLessThanOrEqual(13);
    expect(results.filter((r) => r.status === 429).length).toBe(40 - passed);

    // Login failures of one account, over new connections to either process, share one count.
    const [victim] = await manyUsers(1, "cl-victim");
    const [row] = await sql<{ email: string }[]>`select email from users where id = ${victim?.id ?? 0}`;
    const attempt = () =>
      fetch(`${group.url}/api/v1/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", connection: "close" },
        body: new URLSearchParams({ username: row?.email ?? "", password: "wrong-password-9" }).toString(),
      }).then((r) => r.status);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(await attempt());
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  }, 60_000);
});

const t0 = Date.now();
const step = (what: string) => process.env.SCALE_DEBUG && process.stdout.write(`[${Date.now() - t0} ms] ${what}\n`);

describe("a Redis Cluster master killed mid-traffic (3 masters, 3 replicas)", () => {
  it("keeps booking, recovers reads, and loses no booking, offer or notification once the replica takes over", async () => {
    const cluster = new RedisClusterFixture(3, 1);
    clusters.push(cluster);
    await cluster.start();
    const mailed: string[] = [];
    const mailgun = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        const form = new URLSearchParams(await req.text());
        mailed.push(form.get("to") ?? "");
        return Response.json({ id: `<${mailed.length}@mg.test>`, message: "Queued." });
      },
    });
    started.push({ stop: async () => void mailgun.stop(true) });
    const env = clusterEnv(cluster, {
      REDIS_WAIT_REPLICAS: "1",
      STREAM_VISIBILITY_TIMEOUT_MS: "2000",
      MAILGUN_API_KEY: "key-test",
      MAILGUN_DOMAIN: "mg.example.test",
      MAILGUN_BASE_URL: `http://127.0.0.1:${mailgun.port}`,
    });
    const group = await apiGroup(2, env);
    const promoter = worker("waitlist-promoter", env);
    worker("notifier", env);
    await promoter.waitForLine((l) => l.msg === "worker running", 30_000);
    step("workers running");

    // A sold-out event with a line of 20, and a big event for the booking traffic.
    const small = await createEvent(admin.token, { capacity: 20 });
    const holders = await manyUsers(20, "fo-holder");
    const held: number[] = [];
    for (const [i, h] of holders.entries()) {
      const r = await remote(group.url, "POST", `/api/v1/events/${small.id}/book/${i + 1}`, { token: h.token });
      expect(r.status).toBe(201);
      held.push(r.body.booking_id);
    }
    const waiters = await manyUsers(20, "fo-waiter");
    for (const w of waiters)
      expect((await remote(group.url, "POST", `/api/v1/waitlist/${small.id}`, { token: w.token })).status).toBe(201);

    step("line of 20 joined");
    const big = await createEvent(admin.token, { capacity: 400 });
    const buyers = await manyUsers(400, "fo-buyer");
    const seen: { seat: number; status: number; bookingId?: number }[] = [];
    let next = 0;
    let killedAt = 0;
    const buyer = async () => {
      for (;;) {
        const i = next++;
        if (i >= buyers.length) return;
        const r = await remote(group.url, "POST", `/api/v1/events/${big.id}/book/${i + 1}`, {
          token: buyers[i]?.token,
          headers: { "idempotency-key": `fo-${big.id}-${i}` },
          timeoutMs: 8_000,
        });
        seen.push({ seat: i + 1, status: r.status, bookingId: r.body?.booking_id });
        await Bun.sleep(15);
      }
    };
    const traffic = Promise.all(Array.from({ length: 4 }, buyer));

    // Kill the master that holds the sold-out event's line, in the middle of the sale.
    await waitFor(() => next >= 100, "traffic under way", 30_000);
    const victim = await cluster.ownerOf(`${env.REDIS_KEY_PREFIX}{event:${small.id}}:waitlist`);
    expect(victim).toBeGreaterThan(0);
    step(`killing ${victim}`);
    await cluster.kill(victim);
    killedAt = Date.now();

    // Cancels during the failover: each frees a seat the promoter must offer to the line.
    const cancels = await Promise.all(
      held.map((id, i) => remote(group.url, "DELETE", `/api/v1/bookings/cancel/${id}`, { token: holders[i]?.token })),
    );
    expect(cancels.map((c) => c.status)).toEqual(held.map(() => 200));
    step("cancels answered");
    await traffic;
    if (seen.some((x) => x.status !== 201)) {
      for (const p of group.procs)
        process.stdout.write(
          `DIAG api ${p.proc.pid}:\n${p.lines
            .filter((l) => l.level >= 40)
            .slice(-25)
            .map((l) => JSON.stringify(l).slice(0, 300))
            .join("\n")}\n`,
        );
    }
    step(
      `traffic done: ${JSON.stringify(
        Object.groupBy(seen, (s) => String(s.status)),
        (_k, v) => (Array.isArray(v) ? v.length : v),
      )}`,
    );

    // Bookings: every 201 is in PostgreSQL exactly once, nothing else is, and they kept succeeding.
    const ok = seen.filter((s) => s.status === 201);
    const rows = await sql<{ id: number; seatNumber: number }[]>`
      select b.id, s.seat_number from bookings b join seats s on s.id = b.seat_id
      where b.event_id = ${big.id} and b.status = 'BOOKED'`;
    const lost = ok.filter((s) => !rows.some((r) => r.id === s.bookingId)).length;
    const duplicated = rows.length - new Set(rows.map((r) => r.seatNumber)).size;
    process.stdout.write(
      `failover: bookings answered 201: ${ok.length}/${seen.length}, lost: ${lost}, duplicated: ${duplicated}\n`,
    );
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(rows.length).toBe(ok.length);
    expect(ok.length).toBe(400);

    step("bookings checked");
    // The replica is promoted; reads (cached documents) recover.
    await cluster.waitHealthy(30_000, false);
    await waitFor(
      async () => (await remote(group.url, "GET", `/ready`)).body?.redis === "ok",
      "redis ok again after the failover",
      30_000,
    );
    step("ready ok");
    const doc = await remote(group.url, "GET", `/api/v1/events/${big.id}`);
    expect(doc.body.available_seats).toBe(0);

    // Every freed seat was offered to a distinct waiter, and each offer was e-mailed.
    try {
      await waitFor(async () => (await seatInvariants(small.id)).held === 20, "20 offers after the failover", 40_000);
    } catch (err) {
      const backlog =
        await sql`select stream, count(*)::int as n from outbox where published_at is null group by stream`;
      process.stdout.write(
        `DIAG ${JSON.stringify(await seatInvariants(small.id))} outbox ${JSON.stringify(backlog)}\n` +
          `${promoter.lines
            .filter((l) => l.level >= 40 || /offer|relay|stream/.test(String(l.msg)))
            .slice(-40)
            .map((l) => JSON.stringify(l))
            .join("\n")}\n`,
      );
      throw err;
    }
    const offered = await sql<
      { heldBy: number }[]
    >`select held_by from seats where event_id = ${small.id} and status = 'HELD'`;
    expect(new Set(offered.map((o) => o.heldBy))).toEqual(new Set(waiters.map((w) => w.id)));
    await waitFor(
      () => new Set(mailed.filter((to) => to.startsWith("fo-waiter"))).size >= 20,
      "20 offer e-mails",
      60_000,
    );
    const metrics = await (await fetch(`${group.metricsUrl}/metrics`)).text();
    expect(metrics).toContain("evently_redis_unreplicated_writes_total");
    process.stdout.write(
      `failover: offers made: ${offered.length}/20, e-mails: ${new Set(mailed).size}, recovered ${Date.now() - killedAt} ms after the kill\n`,
    );
  }, 110_000);
});
