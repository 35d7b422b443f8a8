import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import net from "node:net";
import { liveStreamKey } from "../../src/messaging/live";
import { expireOffers } from "../../src/modules/waitlist/waitlist.service";
import { sql } from "../../src/platform/db";
import { redis } from "../../src/platform/redis";
import { createEvent } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";
import { type ApiGroup, startApiProcesses } from "../support/processes";
import { openSse, type SseClient, type SseMessage } from "../support/sse";
import { testEnv } from "../support/test-env";
import { waitFor } from "../support/wait";

// Two API processes; this test process shares their Redis prefix, so a change it makes itself
// (the janitor's offer expiry, run here) reaches their subscribers like a worker's would.
const shared = {
  REDIS_KEY_PREFIX: testEnv.REDIS_KEY_PREFIX as string,
  LIVE_HEARTBEAT_MS: "300",
  LIVE_RECONCILE_MS: "300",
};
let group: ApiGroup;
let admin: { token: string; id: number };
const clients: SseClient[] = [];

beforeAll(async () => {
  [group, admin] = await Promise.all([
    // The rate limiter on (generous), to show it and compression leave the stream alone.
    startApiProcesses(2, {
      ...shared,
      LIVE_MAX_CONNECTIONS_PER_IP: "1000",
      RATE_LIMIT_ENABLED: "true",
      RATE_LIMIT_RPS: "1000",
      RATE_LIMIT_BURST: "1000",
    }),
    adminToken(),
  ]);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await group?.stop();
});

async function subscribe(eventId: number, headers: Record<string, string> = {}, base = group.url) {
  const c = await openSse(`${base}/api/v1/events/${eventId}/live`, headers);
  clients.push(c);
  return c;
}

const snapshotOf = (m: SseMessage) => JSON.parse(m.data) as { statuses: string; available: number; booked: number };
const changesOf = (m: SseMessage) =>
  (JSON.parse(m.data) as { changes: [number, string, number][] }).changes.map(([s, st]) => `${s}${st}`);
const hasChange = (seat: number, status: string) => (m: SseMessage) =>
  m.event === "seats" && changesOf(m).includes(`${seat}${status}`);

async function book(token: string, eventId: number, seat: number) {
  const res = await fetch(`${group.url}/api/v1/events/${eventId}/book/${seat}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { booking_id: number };
}

describe("GET /events/{id}/live", () => {
  it("starts with retry and a snapshot in the seat-status format, with the SSE headers", async () => {
    const event = await createEvent(admin.token, { capacity: 5 });
    const buyer = await registerAndLogin("snap");
    await book(buyer.token, event.id, 2);
    const c = await subscribe(event.id);
    expect(c.status).toBe(200);
    expect(c.headers.get("content-type")).toStartWith("text/event-stream");
    expect(c.headers.get("cache-control")).toContain("no-cache");
    expect(c.headers.get("x-accel-buffering")).toBe("no");
    const snap = await c.waitFor((m) => m.event === "snapshot", "snapshot");
    expect(c.messages[0]?.retry).toBeGreaterThanOrEqual(3000);
    expect(snapshotOf(snap)).toEqual({
      event_id: event.id,
      capacity: 5,
      available: 4,
      held: 0,
      booked: 1,
      statuses: "ABAAA",
    } as never);
    const polled = (await (await fetch(`${group.url}/api/v1/events/${event.id}/seat-status`)).json()) as object;
    expect(snapshotOf(snap)).toEqual(polled as never);
    expect(snap.id).toMatch(/^\d+-\d+$/);
  }, 60_000);

  it("sends every book and cancel, made through either API process, to subscribers of both, with increasing ids", async () => {
    const event = await createEvent(admin.token, { capacity: 6 });
    const buyer = await registerAndLogin("bc");
    const subs = await Promise.all([
      subscribe(event.id),
      subscribe(event.id),
      subscribe(event.id),
      subscribe(event.id),
    ]);
    await Promise.all(subs.map((c) => c.waitFor((m) => m.event === "snapshot", "snapshot")));
    const booked = [];
    for (const seat of [1, 3, 5]) booked.push(await book(buyer.token, event.id, seat));
    for (const c of subs) for (const seat of [1, 3, 5]) await c.waitFor(hasChange(seat, "B"), `seat ${seat} booked`);
    const cancel = await api("DELETE", `/api/v1/bookings/cancel/${booked[1]?.booking_id}`, { token: buyer.token });
    expect(cancel.status).toBe(200);
    for (const c of subs) {
      await c.waitFor(hasChange(3, "A"), "seat 3 freed");
      expect(c.state.statuses).toBe("BAAABA");
      const ids = c.messages.filter((m) => m.id).map((m) => m.id as string);
      const parsed = ids.map((id) => id.split("-").map(Number) as [number, number]);
      for (let i = 1; i < parsed.length; i++) {
        const [a, b] = [parsed[i - 1] as [number, number], parsed[i] as [number, number]];
        expect(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])).toBe(true);
      }
      expect(c.state.staleVersions).toBe(0);
    }
  }, 60_000);

  it("sends a waitlist offer (seat HELD) made by a cancel and its expiry made by another process", async () => {
    const event = await createEvent(admin.token, { capacity: 1 });
    const holder = await registerAndLogin("holder");
    const waiting = await registerAndLogin("waiting");
    const { booking_id } = await book(holder.token, event.id, 1);
    expect((await api("POST", `/api/v1/waitlist/${event.id}`, { token: waiting.token })).status).toBe(201);
    const c = await subscribe(event.id);
    await c.waitFor((m) => m.event === "snapshot", "snapshot");
    const cancel = await fetch(`${group.url}/api/v1/bookings/cancel/${booking_id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${holder.token}` },
    });
    expect(cancel.status).toBe(200);
    await c.waitFor(hasChange(1, "H"), "seat 1 offered (HELD)");
    // The offer's time is up; this process plays the janitor.
    await sql`update seats set hold_expires_at = now() - interval '1 second' where event_id = ${event.id}`;
    expect(await expireOffers()).toBe(1);
    await c.waitFor(hasChange(1, "A"), "seat 1 released after expiry");
    expect(c.state.statuses).toBe("A");
  }, 60_000);

  it("sends a checkout hold (HELD), its confirm (BOOKED) and a released hold (AVAILABLE)", async () => {
    const event = await createEvent(admin.token, { capacity: 4 });
    const buyer = await registerAndLogin("holds-live");
    const c = await subscribe(event.id);
    await c.waitFor((m) => m.event === "snapshot", "snapshot");
    const hold = async (seats: number[]) => {
      const res = await api("POST", `/api/v1/events/${event.id}/holds`, {
        token: buyer.token,
        body: { seat_numbers: seats },
      });
      expect(res.status).toBe(201);
      return res.body as { token: string };
    };
    const first = await hold([1, 2]);
    await c.waitFor(hasChange(1, "H"), "seat 1 held");
    await c.waitFor(hasChange(2, "H"), "seat 2 held");
    expect((await api("POST", `/api/v1/holds/${first.token}/confirm`, { token: buyer.token })).status).toBe(201);
    await c.waitFor(hasChange(1, "B"), "seat 1 booked");
    await c.waitFor(hasChange(2, "B"), "seat 2 booked");
    const second = await hold([4]);
    await c.waitFor(hasChange(4, "H"), "seat 4 held");
    expect((await api("DELETE", `/api/v1/holds/${second.token}`, { token: buyer.token })).status).toBeLessThan(300);
    await c.waitFor(hasChange(4, "A"), "seat 4 released");
    expect(c.state.statuses).toBe("BBAA");
    expect(c.state.staleVersions).toBe(0);
  }, 60_000);

  it("resumes after Last-Event-ID without a gap on either process, and a malformed id gets a snapshot", async () => {
    const event = await createEvent(admin.token, { capacity: 8 });
    const buyer = await registerAndLogin("resume");
    const first = await subscribe(event.id);
    await first.waitFor((m) => m.event === "snapshot", "snapshot");
    await book(buyer.token, event.id, 1);
    await first.waitFor(hasChange(1, "B"), "seat 1");
    const lastId = first.lastId() as string;
    first.close();
    // Missed while away: two bookings.
    await book(buyer.token, event.id, 2);
    await book(buyer.token, event.id, 7);
    await waitFor(async () => {
      const [row] = await sql<
        { n: number }[]
      >`select count(*)::int as n from seats where event_id = ${event.id} and status = 'BOOKED'`;
      return row?.n === 3;
    }, "bookings committed");
    // Reconnect on both processes (each keeps its own feed): neither sends a snapshot.
    for (let i = 0; i < 4; i++) {
      const again = await subscribe(event.id, { "last-event-id": lastId });
      const m = await again.waitFor((x) => x.event === "seats" || x.event === "snapshot", "resume");
      expect(m.event).toBe("seats");
      await again.waitFor(hasChange(7, "B"), "seat 7 after resume");
      const seen = again.messages.filter((x) => x.event === "seats").flatMap(changesOf);
      expect(seen).toContain("2B");
      expect(seen).toContain("7B");
      expect(again.messages.some((x) => x.event === "snapshot")).toBe(false);
      again.close();
    }
    const garbage = await subscribe(event.id, { "last-event-id": "not-an-id" });
    await garbage.waitFor((x) => x.event === "snapshot", "snapshot for a malformed id");
  }, 60_000);

  it("sends a fresh snapshot for an id older than what the stream still holds", async () => {
    // Changes before anyone watches, then trimmed away (as LIVE_RESUME_ENTRIES does over time).
    const event = await createEvent(admin.token, { capacity: 4 });
    const buyer = await registerAndLogin("trimmed");
    await book(buyer.token, event.id, 2);
    await book(buyer.token, event.id, 3);
    await waitFor(async () => (await redis.xlen(liveStreamKey(event.id))) === 2, "two stream entries");
    await redis.xtrim(liveStreamKey(event.id), "MAXLEN", 0);
    for (let i = 0; i < 2; i++) {
      const old = await subscribe(event.id, { "last-event-id": "1-0" });
      const snap = await old.waitFor((x) => x.event === "snapshot" || x.event === "seats", "first message");
      expect(snap.event).toBe("snapshot");
      expect(snapshotOf(snap).statuses).toBe("ABBA");
      old.close();
    }
  }, 60_000);

  it("sends heartbeat comments, and ends the stream with `deleted` when the event is deleted", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    const c = await subscribe(event.id);
    await c.waitFor((m) => m.event === "snapshot", "snapshot");
    await waitFor(() => c.comments.includes("heartbeat"), "a heartbeat comment", 10_000);
    const del = await api("DELETE", `/api/v1/events/${event.id}`, { token: admin.token });
    expect(del.status).toBe(204);
    await c.waitFor((m) => m.event === "deleted", "deleted");
    await c.ended;
    const after = await fetch(`${group.url}/api/v1/events/${event.id}/live`);
    expect(after.status).toBe(404);
  }, 60_000);

  it("repairs a change whose publish was lost (committed, never published) from PostgreSQL", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    const holder = await registerAndLogin("lost");
    const c = await subscribe(event.id);
    await c.waitFor((m) => m.event === "snapshot", "snapshot");
    // As if the process that made this hold died between COMMIT and its XADD.
    await sql`
      update seats set status = 'HELD', held_by = ${holder.id}, hold_expires_at = now() + interval '1 hour'
      where event_id = ${event.id} and seat_number = 2`;
    await c.waitFor(hasChange(2, "H"), "the reconcile's repair", 20_000);
    expect(c.state.statuses).toBe("AHA");
  }, 60_000);

  it("streams through the rate limiter and past compression: no content-encoding, changes arrive", async () => {
    const event = await createEvent(admin.token, { capacity: 2 });
    const buyer = await registerAndLogin("gzip");
    const c = await subscribe(event.id, { "accept-encoding": "gzip, br" });
    expect(c.status).toBe(200);
    expect(c.headers.get("content-encoding")).toBeNull();
    expect(c.headers.get("x-ratelimit-limit")).toBe("1001");
    await c.waitFor((m) => m.event === "snapshot", "snapshot");
    await book(buyer.token, event.id, 2);
    await c.waitFor(hasChange(2, "B"), "seat 2 booked");
  }, 60_000);

  it("answers 404 problem+json for an event that does not exist", async () => {
    const res = await fetch(`${group.url}/api/v1/events/999999/live`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(((await res.json()) as { code: string }).code).toBe("EVENT_NOT_FOUND");
  }, 60_000);

  it("sends a fresh snapshot when the capacity changes", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    const c = await subscribe(event.id);
    await c.waitFor((m) => m.event === "snapshot", "snapshot");
    const put = await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { capacity: 5 } });
    expect(put.status).toBe(200);
    const snap = await c.waitFor((m) => m.event === "snapshot" && snapshotOf(m).statuses.length === 5, "new snapshot");
    expect(snapshotOf(snap).statuses).toBe("AAAAA");
  });
});

describe("limits", () => {
  let small: ApiGroup;
  beforeAll(async () => {
    small = await startApiProcesses(1, {
      ...shared,
      LIVE_MAX_CONNECTIONS: "3",
      LIVE_MAX_CONNECTIONS_PER_IP: "2",
      LIVE_CONNECTION_BUFFER_BYTES: "65536",
      LIVE_IDLE_TIMEOUT_MS: "1000",
    });
  });
  afterAll(() => small?.stop());

  it("refuses a third stream from one address with 429, and a fourth stream on the process with 503", async () => {
    const event = await createEvent(admin.token, { capacity: 2 });
    const url = `${small.url}/api/v1/events/${event.id}/live`;
    const a = await subscribe(event.id, {}, small.url);
    const b = await subscribe(event.id, {}, small.url);
    expect([a.status, b.status]).toEqual([200, 200]);
    const third = await fetch(url);
    expect(third.status).toBe(429);
    expect(third.headers.get("content-type")).toContain("application/problem+json");
    expect(third.headers.get("retry-after")).toBeTruthy();
    await third.body?.cancel();
    // Another address (through a trusted proxy's X-Forwarded-For) gets the process's last slot.
    const other = await subscribe(event.id, { "x-forwarded-for": "203.0.113.9" }, small.url);
    expect(other.status).toBe(200);
    const fourth = await fetch(url, { headers: { "x-forwarded-for": "203.0.113.10" } });
    expect(fourth.status).toBe(503);
    expect(((await fourth.json()) as { code: string }).code).toBe("SERVICE_UNAVAILABLE");
    // A closed stream frees its slot.
    a.close();
    await waitFor(async () => {
      const res = await fetch(url);
      await res.body?.cancel();
      return res.status === 200;
    }, "a slot after a close");
    for (const c of [b, other]) c.close();
  }, 60_000);

  it("drops a client that stops reading once its buffer is full, and keeps a reading one", async () => {
    // 100,000 seats: each snapshot is ~100 kB; every capacity change sends one to every stream.
    await waitFor(async () => {
      const res = await fetch(`${small.url}/api/v1/events/999999/live`);
      await res.body?.cancel();
      return res.status === 404; // the previous test's streams have all gone (caps free)
    }, "slots free");
    const event = await createEvent(admin.token, { capacity: 100_000 });
    const reader = await subscribe(event.id, {}, small.url);
    await reader.waitFor((m) => m.event === "snapshot", "snapshot");
    const port = Number(new URL(small.url).port);
    const slow = net.connect(port, "127.0.0.1");
    slow.on("error", () => {});
    // A paused socket never reads the server's FIN, so the drop is read from the server's metrics.
    const droppedSlow = async () => {
      const text = await (await fetch(`${small.metricsUrl}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith('evently_live_dropped_total{reason="slow"}'));
      return Number(line?.split(" ").pop() ?? 0);
    };
    let closed = false;
    slow.write(`GET /api/v1/events/${event.id}/live HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`);
    slow.once("data", () => slow.pause()); // reads the first bytes, then nothing
    let capacity = 100_000;
    await waitFor(
      async () => {
        if (closed) return true;
        capacity -= 1;
        const put = await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { capacity } });
        expect(put.status).toBe(200);
        await Bun.sleep(30);
        closed = (await droppedSlow()) > 0;
        return closed;
      },
      "the slow client dropped",
      120_000,
    );
    expect(closed).toBe(true);
    // The reading client kept up and is still connected, with the latest snapshot.
    await reader.waitFor(
      (m) => m.event === "snapshot" && snapshotOf(m).statuses.length === capacity,
      "the reading client's last snapshot",
      30_000,
    );
    expect(reader.isEnded()).toBe(false);
    slow.destroy();
  }, 180_000);
});

describe("shutdown", () => {
  it("ends every stream on SIGTERM, so the process stops at once and clients reconnect elsewhere", async () => {
    const one = await startApiProcesses(1, shared);
    try {
      const event = await createEvent(admin.token, { capacity: 2 });
      const c = await subscribe(event.id, {}, one.url);
      await c.waitFor((m) => m.event === "snapshot", "snapshot");
      const started = performance.now();
      one.procs[0]?.proc.kill("SIGTERM");
      await c.ended;
      const code = await one.procs[0]?.proc.exited;
      expect(code).toBe(0); // not the 10 s forced exit (code 1) waiting for streams to finish
      expect(performance.now() - started).toBeLessThan(8_000);
    } finally {
      await one.stop();
    }
  }, 60_000);
});
