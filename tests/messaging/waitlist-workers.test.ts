import { beforeAll, describe, expect, it } from "bun:test";
import type { seats } from "../../src/db/schema";
import { sql } from "../../src/platform/db";
import { waitForRedis } from "../../src/platform/redis";
import { createEvent, seatInvariants } from "../support/fixtures";
import { adminToken, api, manyUsers } from "../support/http";
import { freePort, repoRoot, spawnLogged, waitForHttp } from "../support/processes";
import { PrivateRedis } from "../support/redis-server";
import { waitFor } from "../support/wait";

/** Waitlist promotion with the real worker processes (promoter, janitor) as child processes. */
const worker = (name: string, env: Record<string, string> = {}) =>
  spawnLogged([process.execPath, `${repoRoot}/workers/${name}.ts`], env);

let admin: { token: string };
beforeAll(async () => {
  await waitForRedis(5_000);
  admin = await adminToken();
});

type SeatRow = typeof seats.$inferSelect;

async function seat(eventId: number, n: number) {
  const [row] = await sql<Pick<SeatRow, "status" | "heldBy">[]>`
    select status, held_by from seats where event_id = ${eventId} and seat_number = ${n}`;
  if (!row) throw new Error(`event ${eventId} has no seat ${n}`);
  return row;
}

/** An event whose `capacity` seats are booked by `buyers` (one seat each). */
async function soldOut(capacity: number, via = api) {
  const event = await createEvent(admin.token, { capacity });
  const buyers = await manyUsers(capacity, "buyer");
  const bookings: number[] = [];
  for (const [i, b] of buyers.entries()) {
    const res = await via("POST", `/api/v1/events/${event.id}/book/${i + 1}`, { token: b.token });
    bookings.push(res.body.booking_id);
  }
  return { event, buyers, bookings };
}

describe("waitlist with worker processes", () => {
  it("offers freed seats in line order, lets unclaimed offers expire to the next person, and frees the seat at the end", async () => {
    const env = { WAITLIST_OFFER_TTL_SECONDS: "2", JANITOR_INTERVAL_MS: "200" };
    const promoter = worker("waitlist-promoter", env);
    const janitor = worker("waitlist-janitor", env);
    try {
      const { event, buyers, bookings } = await soldOut(2);
      const [u1, u2, u3] = await manyUsers(3, "waiter");
      for (const u of [u1, u2, u3]) {
        expect((await api("POST", `/api/v1/waitlist/${event.id}`, { token: u?.token })).status).toBe(201);
      }
      await promoter.waitForLine((l) => l.msg === "worker running");

      await api("DELETE", `/api/v1/bookings/cancel/${bookings[0]}`, { token: buyers[0]?.token });
      await waitFor(async () => (await seat(event.id, 1)).heldBy === u1?.id, "offer to user 1");
      const other = await api("POST", `/api/v1/events/${event.id}/book/1`, { token: u2?.token });
      expect(other.body.code).toBe("SEAT_HELD");
      expect((await api("POST", `/api/v1/events/${event.id}/book/1`, { token: u1?.token })).status).toBe(201);

      await api("DELETE", `/api/v1/bookings/cancel/${bookings[1]}`, { token: buyers[1]?.token });
      await waitFor(async () => (await seat(event.id, 2)).heldBy === u2?.id, "offer to user 2");
      // User 2 does nothing. (That offer was made by this test process, whose TTL is the default
      // 900 s: age it.) The janitor expires it and offers the seat to user 3 with its 2 s TTL.
      await sql`update seats set hold_expires_at = now() where event_id = ${event.id} and seat_number = 2`;
      await waitFor(async () => (await seat(event.id, 2)).heldBy === u3?.id, "offer to user 3");
      await waitFor(async () => (await seat(event.id, 2)).status === "AVAILABLE", "the seat freed at the end");
      expect(await seat(event.id, 2)).toEqual({ status: "AVAILABLE", heldBy: null });
      expect(await seatInvariants(event.id)).toMatchObject({ booked: 1, held: 0, available: 1 });
    } finally {
      promoter.proc.kill("SIGKILL");
      janitor.proc.kill("SIGKILL");
    }
  }, 60_000);

  it("turns every release into exactly one offer when the promoter is killed with kill -9 mid-way", async () => {
    const env = { STREAM_VISIBILITY_TIMEOUT_MS: "1000" };
    const first = worker("waitlist-promoter", env);
    let second: ReturnType<typeof worker> | undefined;
    try {
      const { event, buyers, bookings } = await soldOut(30);
      const waiters = await manyUsers(30, "patient");
      for (const w of waiters) await api("POST", `/api/v1/waitlist/${event.id}`, { token: w.token });
      await first.waitForLine((l) => l.msg === "worker running");
      await Promise.all(
        bookings.map((id, i) => api("DELETE", `/api/v1/bookings/cancel/${id}`, { token: buyers[i]?.token })),
      );
      await first.waitForLine((l) => l.msg === "waitlist offer made");
      first.proc.kill("SIGKILL");
      await first.proc.exited;

      second = worker("waitlist-promoter", env);
      await waitFor(async () => (await seatInvariants(event.id)).held === 30, "30 offers", 30_000);
      const holders = await sql<
        Pick<SeatRow, "heldBy">[]
      >`select held_by from seats where event_id = ${event.id} and status = 'HELD'`;
      const ids = holders.map((h) => h.heldBy as number);
      expect(new Set(ids).size).toBe(30);
      expect(new Set(ids)).toEqual(new Set(waiters.map((w) => w.id)));
      // The offered leave the line after their offer's COMMIT (the second promoter's passes take
      // off those the killed one had not removed yet).
      await waitFor(
        async () => (await api("GET", `/api/v1/events/${event.id}`)).body.waitlist_size === 0,
        "everyone off the line",
        30_000,
      );
    } finally {
      first.proc.kill("SIGKILL");
      second?.proc.kill("SIGKILL");
    }
  }, 90_000);

  // The defect this guards against: after a promoter kill -9, a party-size line once ended with
  // 30 HELD seats for 28 holders (someone offered twice).
  it("makes one offer per party, with its party's seats, when the promoter is killed with kill -9 mid-way", async () => {
    const env = { STREAM_VISIBILITY_TIMEOUT_MS: "1000" };
    const first = worker("waitlist-promoter", env);
    let second: ReturnType<typeof worker> | undefined;
    try {
      const { event } = await soldOut(10);
      const waiters = await manyUsers(28, "party");
      const party = (i: number) => 1 + (i % 4); // 1-4: 70 seats in all
      for (const [i, w] of waiters.entries()) {
        const res = await api("POST", `/api/v1/waitlist/${event.id}`, {
          token: w.token,
          body: { party_size: party(i) },
        });
        expect(res.status).toBe(201);
      }
      await first.waitForLine((l) => l.msg === "worker running");
      // 70 new seats: their releases go through the promoter only.
      expect(
        (await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { capacity: 80 } })).status,
      ).toBe(200);
      await first.waitForLine((l) => l.msg === "waitlist offer made");
      first.proc.kill("SIGKILL");
      await first.proc.exited;

      second = worker("waitlist-promoter", env);
      await waitFor(async () => (await seatInvariants(event.id)).held === 70, "70 seats offered", 30_000);
      const offers = await sql<{ userId: number; status: string; seats: number; partySize: number }[]>`
        select o.user_id, o.status, o.party_size, (select count(*) from seats s where s.offer_id = o.id)::int as seats
        from waitlist_offers o where o.event_id = ${event.id}`;
      expect(offers.every((o) => o.status === "OFFERED")).toBe(true);
      expect(offers.length).toBe(28);
      expect(new Set(offers.map((o) => Number(o.userId))).size).toBe(28);
      expect(offers.every((o) => o.seats === o.partySize)).toBe(true);
      const byUser = new Map(waiters.map((w, i) => [w.id, party(i)]));
      for (const o of offers) expect(o.partySize).toBe(byUser.get(Number(o.userId)) as number);
      const [stray] = await sql<{ n: number }[]>`
        select count(*)::int as n from seats s left join waitlist_offers o on o.id = s.offer_id
        where s.event_id = ${event.id} and s.status = 'HELD' and (o.status is distinct from 'OFFERED' or o.user_id <> s.held_by)`;
      expect(stray?.n).toBe(0);
      await waitFor(
        async () => (await api("GET", `/api/v1/events/${event.id}`)).body.waitlist_size === 0,
        "everyone off the line",
      );
    } finally {
      first.proc.kill("SIGKILL");
      second?.proc.kill("SIGKILL");
    }
  }, 90_000);

  it("cancels while Redis is down and makes the offers once Redis is back", async () => {
    const redis = new PrivateRedis({ persistent: true });
    await redis.start();
    const port = freePort();
    const env = { REDIS_URL: redis.url, STREAM_VISIBILITY_TIMEOUT_MS: "1000" };
    const server = spawnLogged([process.execPath, `${repoRoot}/src/server.ts`], { ...env, PORT: String(port) });
    const promoter = worker("waitlist-promoter", env);
    const http = async (method: string, path: string, opts: { token?: string } = {}) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      });
      return { status: res.status, body: (await res.json().catch(() => null)) as any };
    };
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`);
      const { event, buyers, bookings } = await soldOut(2);
      const waiters = await manyUsers(2, "outage");
      for (const w of waiters) {
        expect((await http("POST", `/api/v1/waitlist/${event.id}`, { token: w.token })).status).toBe(201);
      }
      await promoter.waitForLine((l) => l.msg === "worker running");

      await redis.kill();
      const cancels = await Promise.all(
        bookings.map((id, i) => http("DELETE", `/api/v1/bookings/cancel/${id}`, { token: buyers[i]?.token })),
      );
      expect(cancels.map((c) => c.status)).toEqual([200, 200]);
      const waiting = await sql`select count(*)::int as n from outbox
        where stream = 'seat.released' and published_at is null and (payload->>'event_id')::bigint = ${event.id}`;
      expect(waiting[0]?.n).toBe(2);

      await redis.start();
      await waitFor(async () => (await seatInvariants(event.id)).held === 2, "offers after Redis returns", 30_000);
      const holders = await sql<
        Pick<SeatRow, "heldBy">[]
      >`select held_by from seats where event_id = ${event.id} and status = 'HELD'`;
      expect(new Set(holders.map((h) => h.heldBy))).toEqual(new Set(waiters.map((w) => w.id)));
    } finally {
      server.proc.kill("SIGKILL");
      promoter.proc.kill("SIGKILL");
      await redis.dispose();
    }
  }, 90_000);
});
