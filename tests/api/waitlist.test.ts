import { beforeAll, describe, expect, it } from "bun:test";
import type { seats } from "../../src/db/schema";
import { expireOffers, promoteNextInLine } from "../../src/modules/waitlist/waitlist.offers";
import { waitlistKey } from "../../src/modules/waitlist/waitlist.store";
import { sql } from "../../src/platform/db";
import { redis } from "../../src/platform/redis";
import { createEvent, seatInvariants, startEvent } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";

type SeatRow = typeof seats.$inferSelect;

let admin: { token: string; id: number };
beforeAll(async () => {
  admin = await adminToken();
});

async function soldOutEvent(capacity = 2) {
  const event = await createEvent(admin.token, { capacity });
  const buyers = [];
  for (let seat = 1; seat <= capacity; seat++) {
    const buyer = await registerAndLogin(`buyer${seat}`);
    const b = await api("POST", `/api/v1/events/${event.id}/book/${seat}`, { token: buyer.token });
    buyers.push({ ...buyer, bookingId: b.body.booking_id as number, seatId: 0 });
  }
  const rows = await sql<
    Pick<SeatRow, "id" | "seatNumber">[]
  >`select id, seat_number from seats where event_id = ${event.id} order by seat_number`;
  for (const [i, s] of rows.entries()) if (buyers[i]) buyers[i].seatId = s.id;
  return { event, buyers };
}

async function seatOf(eventId: number, n: number) {
  const [row] = await sql<Pick<SeatRow, "id" | "status" | "heldBy">[]>`
    select id, status, held_by from seats where event_id = ${eventId} and seat_number = ${n}`;
  if (!row) throw new Error(`event ${eventId} has no seat ${n}`);
  return row;
}

describe("joining the waitlist", () => {
  it("joins a sold-out event (201), keeps the first place on a second join (200), and reports it", async () => {
    const { event } = await soldOutEvent(1);
    const a = await registerAndLogin("wa");
    const b = await registerAndLogin("wb");
    const first = await api("POST", `/api/v1/waitlist/${event.id}`, { token: a.token });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ event_id: event.id, position: 1, size: 1 });
    const second = await api("POST", `/api/v1/waitlist/${event.id}`, { token: b.token });
    expect(second.body).toMatchObject({ position: 2, size: 2 });
    const again = await api("POST", `/api/v1/waitlist/${event.id}`, { token: a.token });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, size: 2 });
    const mine = await api("GET", `/api/v1/waitlist/${event.id}`, { token: b.token });
    expect(mine.body).toMatchObject({ position: 2, size: 2 });
    expect((await api("GET", `/api/v1/events/${event.id}`)).body.waitlist_size).toBe(2);
  });

  it("refuses when seats are available, when the caller already has a booking, after the start, and unknown events", async () => {
    const open = await createEvent(admin.token, { capacity: 2 });
    const u = await registerAndLogin("wu");
    const available = await api("POST", `/api/v1/waitlist/${open.id}`, { token: u.token });
    expect(available.status).toBe(409);
    expect(available.body.code).toBe("SEATS_AVAILABLE");

    const { event, buyers } = await soldOutEvent(1);
    const holder = await api("POST", `/api/v1/waitlist/${event.id}`, { token: buyers[0]?.token });
    expect(holder.status).toBe(409);
    expect(holder.body.code).toBe("ALREADY_BOOKED_EVENT");

    await startEvent(event.id);
    const late = await api("POST", `/api/v1/waitlist/${event.id}`, { token: u.token });
    expect(late.body.code).toBe("EVENT_STARTED");

    expect((await api("POST", "/api/v1/waitlist/99999999", { token: u.token })).status).toBe(404);
    expect((await api("POST", `/api/v1/waitlist/${event.id}`)).status).toBe(401);
    expect((await api("POST", "/api/v1/waitlist/abc", { token: u.token })).status).toBe(422);
  });

  it("lets a user leave, then answers 404 for their position; admins see the ordered line", async () => {
    const { event } = await soldOutEvent(1);
    const a = await registerAndLogin("la");
    const b = await registerAndLogin("lb");
    await api("POST", `/api/v1/waitlist/${event.id}`, { token: a.token });
    await api("POST", `/api/v1/waitlist/${event.id}`, { token: b.token });
    const line = await api("GET", `/api/v1/waitlist/${event.id}/entries`, { token: admin.token });
    expect(line.body.map((e: { user_email: string }) => e.user_email)).toEqual([a.email, b.email]);
    expect((await api("GET", `/api/v1/waitlist/${event.id}/entries`, { token: a.token })).status).toBe(403);
    expect((await api("DELETE", `/api/v1/waitlist/${event.id}`, { token: a.token })).status).toBe(204);
    const gone = await api("GET", `/api/v1/waitlist/${event.id}`, { token: a.token });
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe("NOT_ON_WAITLIST");
    expect((await api("GET", `/api/v1/waitlist/${event.id}`, { token: b.token })).body.position).toBe(1);
    expect((await api("DELETE", `/api/v1/waitlist/${event.id}`, { token: a.token })).status).toBe(404);
  });
});

describe("offers", () => {
  it("hands a cancelled seat straight to the head of the line, re-offers expired offers to the next, and frees the seat at the end", async () => {
    const { event, buyers } = await soldOutEvent(2);
    const [u1, u2, u3] = [await registerAndLogin("q1"), await registerAndLogin("q2"), await registerAndLogin("q3")];
    for (const u of [u1, u2, u3]) await api("POST", `/api/v1/waitlist/${event.id}`, { token: u.token });

    // The cancel itself offers seat 1 to user 1: it is never AVAILABLE for a fast buyer to take.
    await api("DELETE", `/api/v1/bookings/cancel/${buyers[0]?.bookingId}`, { token: buyers[0]?.token });
    expect(await seatOf(event.id, 1)).toMatchObject({ status: "HELD", heldBy: u1.id });
    const stolen = await api("POST", `/api/v1/events/${event.id}/book/1`, { token: u2.token });
    expect(stolen.body.code).toBe("SEAT_HELD");
    const quick = await api("POST", `/api/v1/events/${event.id}/bookings`, { token: u3.token, body: { quantity: 1 } });
    expect(quick.body.code).toBe("NOT_ENOUGH_SEATS");
    expect((await api("POST", `/api/v1/events/${event.id}/book/1`, { token: u1.token })).status).toBe(201);
    expect((await api("GET", `/api/v1/waitlist/${event.id}`, { token: u2.token })).body.position).toBe(1);
    const note = await sql`select payload from outbox where stream = 'notifications'
                                 and payload->>'kind' = 'waitlist_offer' and payload->>'to' = ${u1.email}`;
    expect(note.length).toBe(1);

    // Seat 2 goes to user 2, who lets it expire: the janitor's sweep re-offers it to user 3.
    await api("DELETE", `/api/v1/bookings/cancel/${buyers[1]?.bookingId}`, { token: buyers[1]?.token });
    const seat2 = buyers[1]?.seatId as number;
    expect(await seatOf(event.id, 2)).toMatchObject({ status: "HELD", heldBy: u2.id });
    await sql`update seats set hold_expires_at = now() - interval '1 second' where id = ${seat2}`;
    expect(await expireOffers()).toBe(1);
    expect(await seatOf(event.id, 2)).toMatchObject({ status: "HELD", heldBy: u3.id });

    // User 3 lets it expire too; nobody is left, so the seat ends AVAILABLE: never stuck.
    await sql`update seats set hold_expires_at = now() - interval '1 second' where id = ${seat2}`;
    expect(await expireOffers()).toBe(1);
    expect(await seatOf(event.id, 2)).toMatchObject({ status: "AVAILABLE", heldBy: null });
    const inv = await seatInvariants(event.id);
    expect(inv).toMatchObject({ booked: 1, held: 0, available: 1, bookedSeatsWithoutOneBooking: 0 });
  });

  it("never lets a buyer who is not waiting take an expired offer while people wait (issue 13.10)", async () => {
    const { event, buyers } = await soldOutEvent(1);
    const [w1, w2] = [await registerAndLogin("e1"), await registerAndLogin("e2")];
    const outsider = await registerAndLogin("outsider");
    for (const w of [w1, w2]) await api("POST", `/api/v1/waitlist/${event.id}`, { token: w.token });
    await api("DELETE", `/api/v1/bookings/cancel/${buyers[0]?.bookingId}`, { token: buyers[0]?.token });
    expect(await seatOf(event.id, 1)).toMatchObject({ status: "HELD", heldBy: w1.id });
    await sql`update seats set hold_expires_at = now() - interval '1 second' where event_id = ${event.id}`;

    // The outsider keeps trying, before, during and after the janitor's sweep.
    const tries: Promise<number>[] = [];
    const hammer = (n: number) => {
      for (let i = 0; i < n; i++) {
        tries.push(api("POST", `/api/v1/events/${event.id}/book/1`, { token: outsider.token }).then((r) => r.status));
      }
    };
    hammer(50);
    const sweep = expireOffers();
    hammer(100);
    expect(await sweep).toBe(1);
    hammer(50);
    const statuses = await Promise.all(tries);
    expect(statuses.filter((s) => s === 201)).toEqual([]);
    expect(await seatOf(event.id, 1)).toMatchObject({ status: "HELD", heldBy: w2.id });
    expect((await api("POST", `/api/v1/events/${event.id}/book/1`, { token: w2.token })).status).toBe(201);
  });

  it("offers seats added by a capacity increase, once each however often the release is delivered", async () => {
    const { event } = await soldOutEvent(1);
    const [w1, w2] = [await registerAndLogin("r1"), await registerAndLogin("r2")];
    await api("POST", `/api/v1/waitlist/${event.id}`, { token: w1.token });
    await api("POST", `/api/v1/waitlist/${event.id}`, { token: w2.token });
    await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { capacity: 2 } });
    const released = await sql`select payload from outbox where stream = 'seat.released'
                                     and (payload->>'event_id')::bigint = ${event.id}`;
    expect(released.map((r) => r.payload.reason)).toEqual(["capacity_added"]);
    const seatId = released[0]?.payload.seat_id as number;
    const results = await Promise.all([1, 2, 3].map(() => promoteNextInLine(event.id, seatId)));
    expect(results.filter((r) => r.outcome === "offered")).toMatchObject([{ outcome: "offered", userId: w1.id }]);
    expect((await api("GET", `/api/v1/waitlist/${event.id}`, { token: w2.token })).body.position).toBe(1);
  });

  it("skips people in line who already got a seat and offers to the next", async () => {
    const { event, buyers } = await soldOutEvent(1);
    const [w1, w2] = [await registerAndLogin("s1"), await registerAndLogin("s2")];
    await api("POST", `/api/v1/waitlist/${event.id}`, { token: w1.token });
    await api("POST", `/api/v1/waitlist/${event.id}`, { token: w2.token });
    // A second seat appears and w1 books it directly, while still in line.
    await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { capacity: 2 } });
    expect((await api("POST", `/api/v1/events/${event.id}/book/2`, { token: w1.token })).status).toBe(201);
    await api("DELETE", `/api/v1/bookings/cancel/${buyers[0]?.bookingId}`, { token: buyers[0]?.token });
    expect(await promoteNextInLine(event.id, buyers[0]?.seatId as number)).toMatchObject({
      outcome: "offered",
      userId: w2.id,
    });
    expect((await api("GET", `/api/v1/waitlist/${event.id}`, { token: w1.token })).status).toBe(404);
  });

  it("never leaves someone waiting beside a free seat when a join races a cancel and its promotion", async () => {
    for (let round = 0; round < 20; round++) {
      const { event, buyers } = await soldOutEvent(1);
      const w = await registerAndLogin(`race${round}`);
      // The promoter handles the release as soon as it can, possibly before the join lands.
      const cancelThenPromote = async () => {
        await api("DELETE", `/api/v1/bookings/cancel/${buyers[0]?.bookingId}`, { token: buyers[0]?.token });
        await promoteNextInLine(event.id, buyers[0]?.seatId as number);
      };
      const [, joined] = await Promise.all([
        cancelThenPromote(),
        api("POST", `/api/v1/waitlist/${event.id}`, { token: w.token }),
      ]);
      const seat = await seatOf(event.id, 1);
      const inLine = (await api("GET", `/api/v1/waitlist/${event.id}`, { token: w.token })).status === 200;
      // Either the join was refused (the seat is free to book), or the seat is offered to them.
      if (joined.status === 409) expect(seat.status).toBe("AVAILABLE");
      else expect(seat).toMatchObject({ status: "HELD", heldBy: w.id });
      expect(inLine && seat.status === "AVAILABLE").toBe(false);
    }
  }, 30_000);

  // Lines carry no TTL (Redis may evict only keys with one); the janitor ends them after the start.
  it("keeps the line, without a TTL, when the event is postponed, and drops the line when it is deleted", async () => {
    const { event } = await soldOutEvent(1);
    const w = await registerAndLogin("d1");
    await api("POST", `/api/v1/waitlist/${event.id}`, { token: w.token });
    const later = new Date(Date.now() + 90 * 86_400_000);
    await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { start_time: later.toISOString() } });
    expect(await redis.zcard(waitlistKey(event.id))).toBe(1);
    expect(await redis.pttl(waitlistKey(event.id))).toBe(-1);
    await api("DELETE", `/api/v1/events/${event.id}`, { token: admin.token });
    expect((await api("GET", `/api/v1/waitlist/${event.id}`, { token: w.token })).status).toBe(404);
  });
});
