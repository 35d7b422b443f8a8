import { beforeAll, describe, expect, it } from "bun:test";
import { config } from "../../src/config";
import { expireHolds } from "../../src/modules/holds/holds.service";
import { pickTogether } from "../../src/modules/holds/holds.together";
import { sql } from "../../src/platform/db";
import { createEvent, seatInvariants, startEvent } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";

let admin: { token: string; id: number };
beforeAll(async () => {
  admin = await adminToken();
});

type User = { id: number; token: string };

const hold = (user: User, eventId: number, body: unknown, headers?: Record<string, string>) =>
  api("POST", `/api/v1/events/${eventId}/holds`, { token: user.token, body, headers });

async function seatRows(eventId: number) {
  return sql<{ seatNumber: number; status: string; heldBy: number | null; holdId: number | null }[]>`
    select seat_number, status, held_by, hold_id from seats where event_id = ${eventId} order by seat_number`;
}

/** Sets seats' status straight in PostgreSQL: a house with taken seats where the test wants them. */
async function takeSeats(eventId: number, numbers: number[]) {
  const buyer = await registerAndLogin("taker");
  for (const n of numbers) {
    const r = await api("POST", `/api/v1/events/${eventId}/book/${n}`, { token: buyer.token });
    expect(r.status).toBe(201);
  }
}

/** Moves a hold's end into the past (no API for time travel). */
async function expire(holdId: number) {
  await sql`update holds set expires_at = now() - interval '1 second', created_at = now() - interval '20 minutes'
            where id = ${holdId}`;
  await sql`update seats set hold_expires_at = now() - interval '1 second' where hold_id = ${holdId}`;
}

describe("creating a hold", () => {
  it("holds named seats (201 with the issue's shape), and GET shows it to its owner", async () => {
    const event = await createEvent(admin.token, { capacity: 10 });
    const u = await registerAndLogin("h1");
    const before = Date.now();
    const r = await hold(u, event.id, { seat_numbers: [5, 3] });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ event_id: event.id, seats: [3, 5], status: "ACTIVE", extensions: 0 });
    expect(typeof r.body.hold_id).toBe("number");
    expect(r.body.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const ttl = new Date(r.body.expires_at).getTime() - before;
    expect(ttl).toBeGreaterThan((config.HOLD_TTL_SECONDS - 5) * 1000);
    expect(ttl).toBeLessThan((config.HOLD_TTL_SECONDS + 5) * 1000);
    const rows = await seatRows(event.id);
    expect(rows.filter((s) => s.status === "HELD").map((s) => [s.seatNumber, s.heldBy, s.holdId])).toEqual([
      [3, u.id, r.body.hold_id],
      [5, u.id, r.body.hold_id],
    ]);
    const got = await api("GET", `/api/v1/holds/${r.body.token}`, { token: u.token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(r.body);
    // The seat map never shows a held seat as free after the answer (cache invalidated).
    const map = await api("GET", `/api/v1/events/${event.id}/seats`);
    const statuses = (map.body.seats ?? map.body).map((s: { seat_number: number; status: string }) => s.status);
    expect(statuses[2]).toBe("HELD");
    expect(statuses[4]).toBe("HELD");
    const created = await sql`select payload from outbox where stream = 'domain.events'
                              and payload->>'type' = 'hold.created' and (payload->'data'->>'hold_id')::int = ${r.body.hold_id}`;
    expect(created.length).toBe(1);
    expect(created[0]?.payload).toMatchObject({ event_id: event.id, data: { seats: [3, 5], user_id: u.id } });
  });

  it("holds a quantity best available (lowest free seats)", async () => {
    const event = await createEvent(admin.token, { capacity: 6 });
    await takeSeats(event.id, [1, 3]);
    const u = await registerAndLogin("hq");
    const r = await hold(u, event.id, { quantity: 2 });
    expect(r.status).toBe(201);
    expect(r.body.seats).toEqual([2, 4]);
  });

  it("refuses all or nothing: unknown, booked and held seats, too many, nothing free; nothing is written", async () => {
    const event = await createEvent(admin.token, { capacity: 4 });
    await takeSeats(event.id, [1]);
    const a = await registerAndLogin("ha");
    const b = await registerAndLogin("hb");
    const missing = await hold(a, event.id, { seat_numbers: [2, 9] });
    expect([missing.status, missing.body.code]).toEqual([404, "SEAT_NOT_FOUND"]);
    const booked = await hold(a, event.id, { seat_numbers: [1, 2] });
    expect([booked.status, booked.body.code]).toEqual([409, "SEAT_ALREADY_BOOKED"]);
    expect((await hold(a, event.id, { seat_numbers: [2] })).status).toBe(201);
    const held = await hold(b, event.id, { seat_numbers: [2, 3] });
    expect([held.status, held.body.code]).toEqual([409, "SEAT_HELD"]);
    const tooMany = await hold(b, event.id, { quantity: config.MAX_SEATS_PER_BOOKING + 1 });
    expect([tooMany.status, tooMany.body.code]).toEqual([422, "TOO_MANY_SEATS"]);
    const notEnough = await hold(b, event.id, { quantity: 3 });
    expect([notEnough.status, notEnough.body.code]).toEqual([409, "NOT_ENOUGH_SEATS"]);
    const rows = await seatRows(event.id);
    expect(rows.map((s) => s.status)).toEqual(["BOOKED", "HELD", "AVAILABLE", "AVAILABLE"]);
    const dup = await hold(b, event.id, { seat_numbers: [3, 3] });
    expect([dup.status, dup.body.code]).toEqual([422, "VALIDATION_FAILED"]);
    const both = await hold(b, event.id, { seat_numbers: [3], quantity: 1 });
    expect(both.status).toBe(422);
    const none = await api("POST", `/api/v1/events/${event.id}/holds`, { body: { quantity: 1 } });
    expect(none.status).toBe(401);
    expect((await hold(b, 99_999_999, { quantity: 1 })).body.code).toBe("EVENT_NOT_FOUND");
    await startEvent(event.id);
    const late = await hold(b, event.id, { quantity: 1 });
    expect([late.status, late.body.code]).toEqual([409, "EVENT_STARTED"]);
  });

  it("honours Idempotency-Key: a retry answers the first 201 without holding again; another body is refused", async () => {
    const event = await createEvent(admin.token, { capacity: 5 });
    const u = await registerAndLogin("hk");
    const key = { "idempotency-key": `hold-${Date.now()}` };
    const first = await hold(u, event.id, { quantity: 2 }, key);
    const again = await hold(u, event.id, { quantity: 2 }, key);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect((await sql`select 1 from holds where event_id = ${event.id}`).length).toBe(1);
    const other = await hold(u, event.id, { quantity: 1 }, key);
    expect([other.status, other.body.code]).toEqual([422, "IDEMPOTENCY_KEY_REUSED"]);
  });
});

describe("together", () => {
  it("picks adjacent seats and leaves no single seat stranded where another choice exists", async () => {
    // Free runs: 2-4 (three seats), 6-7 (two), 9-12 (four). A party of 2 in 2-4 strands one seat,
    // so it takes the exact fit 6-7.
    const event = await createEvent(admin.token, { capacity: 12 });
    await takeSeats(event.id, [1, 5, 8]);
    const u = await registerAndLogin("ht");
    const r = await hold(u, event.id, { quantity: 2, together: true });
    expect(r.status).toBe(201);
    expect(r.body.seats).toEqual([6, 7]);
    // Now runs 2-4 and 9-12: a party of 2 would strand one in 2-4, fits 9-10 leaving 11-12.
    const v = await registerAndLogin("ht2");
    expect((await hold(v, event.id, { quantity: 2, together: true })).body.seats).toEqual([9, 10]);
    // Runs 2-4 and 11-12: a party of 3 fits only 2-4 exactly.
    const w = await registerAndLogin("ht3");
    expect((await hold(w, event.id, { quantity: 3, together: true })).body.seats).toEqual([2, 3, 4]);
    // Only 11-12 left: no three adjacent seats.
    const x = await registerAndLogin("ht4");
    const none = await hold(x, event.id, { quantity: 3, together: true });
    expect([none.status, none.body.code]).toEqual([409, "NOT_ENOUGH_SEATS"]);
    // Without `together` the same three would not be adjacent: refused only for lack of seats.
    expect((await hold(x, event.id, { quantity: 2 })).body.seats).toEqual([11, 12]);
  });

  it("strands a seat only when every choice does (pure rule)", () => {
    const seats = (...nums: number[]) => nums.map((n) => ({ id: n * 10, seatNumber: n }));
    const numbers = (picked?: { seatNumber: number }[]) => picked?.map((s) => s.seatNumber);
    // Runs 1-3 and 5-9: 1-3 strands one seat for a pair, 5-9 leaves three.
    expect(numbers(pickTogether(seats(1, 2, 3, 5, 6, 7, 8, 9), 2))).toEqual([5, 6]);
    // Only 1-3: no other choice, the lowest block.
    expect(numbers(pickTogether(seats(1, 2, 3), 2))).toEqual([1, 2]);
    // Best fit: the exact run 7-8 before the long 1-5.
    expect(numbers(pickTogether(seats(1, 2, 3, 4, 5, 7, 8), 2))).toEqual([7, 8]);
    // Lowest first among equals.
    expect(numbers(pickTogether(seats(1, 2, 4, 5), 2))).toEqual([1, 2]);
    expect(pickTogether(seats(1, 3, 5), 2)).toBeUndefined();
    expect(numbers(pickTogether(seats(1, 3, 5), 1))).toEqual([1]);
    // A single seat goes into a one-seat gap, not into a pair (which would strand the other).
    expect(numbers(pickTogether(seats(1, 2, 4), 1))).toEqual([4]);
  });
});

describe("ownership", () => {
  it("answers 404 HOLD_NOT_FOUND to anyone but the owner on every route, and lets admins see and use it", async () => {
    const event = await createEvent(admin.token, { capacity: 4 });
    const owner = await registerAndLogin("ho");
    const other = await registerAndLogin("hx");
    const { token } = (await hold(owner, event.id, { seat_numbers: [1] })).body;
    for (const [method, path] of [
      ["GET", `/api/v1/holds/${token}`],
      ["PATCH", `/api/v1/holds/${token}`],
      ["DELETE", `/api/v1/holds/${token}`],
      ["POST", `/api/v1/holds/${token}/confirm`],
      ["GET", "/api/v1/holds/not-a-real-token"],
    ] as const) {
      const r = await api(method, path, { token: other.token });
      expect(`${method} ${r.status} ${r.body.code}`).toBe(`${method} 404 HOLD_NOT_FOUND`);
      expect((await api(method, path)).status).toBe(401);
    }
    expect((await seatRows(event.id))[0]?.status).toBe("HELD");
    expect((await api("GET", `/api/v1/holds/${token}`, { token: admin.token })).status).toBe(200);
    const confirmed = await api("POST", `/api/v1/holds/${token}/confirm`, { token: admin.token });
    expect(confirmed.status).toBe(201);
    const [booking] = await sql`select user_id from bookings where id = ${confirmed.body.bookings[0].booking_id}`;
    expect(booking?.userId).toBe(owner.id);
  });
});

describe("SEAT_HELD for every other buyer", () => {
  it("refuses a held seat on POST /events/{id}/book/{seat}, POST /events/{id}/bookings and holds alike", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    const owner = await registerAndLogin("hs");
    const other = await registerAndLogin("hs2");
    await hold(owner, event.id, { seat_numbers: [2] });
    const one = await api("POST", `/api/v1/events/${event.id}/book/2`, { token: other.token });
    expect([one.status, one.body.code]).toEqual([409, "SEAT_HELD"]);
    const many = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: other.token,
      body: { seat_numbers: [1, 2] },
    });
    expect([many.status, many.body.code]).toEqual([409, "SEAT_HELD"]);
    const held = await hold(other, event.id, { seat_numbers: [2, 3] });
    expect([held.status, held.body.code]).toEqual([409, "SEAT_HELD"]);
    // Best available skips it.
    const best = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: other.token,
      body: { quantity: 2 },
    });
    expect(best.body.bookings.map((b: { seat_number: number }) => b.seat_number)).toEqual([1, 3]);
    // The holder may still book it through the book endpoints before the end; the hold is then
    // confirmed (it has no seats left) and confirm answers that booking.
    const own = await api("POST", `/api/v1/events/${event.id}/book/2`, { token: owner.token });
    expect(own.status).toBe(201);
    const [h] = await sql`select status, token from holds where event_id = ${event.id}`;
    expect(h?.status).toBe("CONFIRMED");
    const again = await api("POST", `/api/v1/holds/${h?.token}/confirm`, { token: owner.token });
    expect(again.body.bookings.map((b: { booking_id: number }) => b.booking_id)).toEqual([own.body.booking_id]);
    expect(await seatInvariants(event.id)).toMatchObject({ booked: 3, bookedBookings: 3, seatsBookedTwice: 0 });
  });
});

describe("limits", () => {
  it("counts held seats against MAX_SEATS_PER_USER_PER_EVENT on holds and bookings, and caps live holds per event (409 HOLD_LIMIT)", async () => {
    const max = config.MAX_SEATS_PER_USER_PER_EVENT;
    const event = await createEvent(admin.token, { capacity: max + 5 });
    const u = await registerAndLogin("hl");
    expect((await hold(u, event.id, { quantity: max - 1 })).status).toBe(201);
    const over = await hold(u, event.id, { quantity: 2 });
    expect([over.status, over.body.code]).toEqual([409, "USER_SEAT_LIMIT"]);
    // Booking counts the live held seats too (the gap before holds: only BOOKED ones counted).
    const book = await api("POST", `/api/v1/events/${event.id}/bookings`, { token: u.token, body: { quantity: 2 } });
    expect([book.status, book.body.code]).toEqual([409, "USER_SEAT_LIMIT"]);
    expect(
      (await api("POST", `/api/v1/events/${event.id}/bookings`, { token: u.token, body: { quantity: 1 } })).status,
    ).toBe(201);

    const cap = config.MAX_HOLDS_PER_USER_PER_EVENT;
    const e2 = await createEvent(admin.token, { capacity: cap + 3 });
    const v = await registerAndLogin("hl2");
    const made = [];
    for (let i = 0; i < cap; i++) made.push((await hold(v, e2.id, { quantity: 1 })).body);
    const extra = await hold(v, e2.id, { quantity: 1 });
    expect([extra.status, extra.body.code]).toEqual([409, "HOLD_LIMIT"]);
    // Releasing one frees a place; an expired one no longer counts either.
    expect((await api("DELETE", `/api/v1/holds/${made[0].token}`, { token: v.token })).status).toBe(204);
    expect((await hold(v, e2.id, { quantity: 1 })).status).toBe(201);
    await expire(made[1].hold_id);
    expect((await hold(v, e2.id, { quantity: 1 })).status).toBe(201);
  });
});

describe("extending", () => {
  it("extends by HOLD_TTL_SECONDS up to HOLD_MAX_EXTENSIONS times, never past HOLD_MAX_LIFETIME_SECONDS, else 409 HOLD_EXTENSION_LIMIT", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    const u = await registerAndLogin("he");
    const created = (await hold(u, event.id, { seat_numbers: [1, 2] })).body;
    const createdAt = new Date(created.created_at).getTime();
    const cap = createdAt + config.HOLD_MAX_LIFETIME_SECONDS * 1000;
    let expiresAt = new Date(created.expires_at).getTime();
    let extensions = 0;
    for (;;) {
      const r = await api("PATCH", `/api/v1/holds/${created.token}`, { token: u.token });
      if (r.status === 409) {
        expect(r.body.code).toBe("HOLD_EXTENSION_LIMIT");
        break;
      }
      expect(r.status).toBe(200);
      extensions++;
      const next = Math.min(expiresAt + config.HOLD_TTL_SECONDS * 1000, cap);
      expect(Math.abs(new Date(r.body.expires_at).getTime() - next)).toBeLessThan(5);
      expect(r.body.extensions).toBe(extensions);
      expiresAt = next;
      expect(extensions).toBeLessThanOrEqual(config.HOLD_MAX_EXTENSIONS);
    }
    // Stopped by whichever cap comes first: the count, or the lifetime.
    expect(extensions === config.HOLD_MAX_EXTENSIONS || expiresAt === cap).toBe(true);
    expect(expiresAt).toBeLessThanOrEqual(cap);
    const seats = await sql`select hold_expires_at from seats where event_id = ${event.id} and status = 'HELD'`;
    expect(seats.map((s) => s.holdExpiresAt.getTime())).toEqual([expiresAt, expiresAt]);
  });

  it("stops at the lifetime cap even with extensions left", async () => {
    const event = await createEvent(admin.token, { capacity: 2 });
    const u = await registerAndLogin("he2");
    const created = (await hold(u, event.id, { seat_numbers: [1] })).body;
    // As if made long ago: its end is already the lifetime cap.
    await sql`update holds set created_at = expires_at - make_interval(secs => ${config.HOLD_MAX_LIFETIME_SECONDS})
              where id = ${created.hold_id}`;
    const r = await api("PATCH", `/api/v1/holds/${created.token}`, { token: u.token });
    expect([r.status, r.body.code]).toEqual([409, "HOLD_EXTENSION_LIMIT"]);
  });
});

describe("expiry", () => {
  it("is exact: past expires_at the hold reads EXPIRED, cannot be extended, confirmed or booked by its holder; the janitor frees the seats", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    const u = await registerAndLogin("hx1");
    const other = await registerAndLogin("hx2");
    const created = (await hold(u, event.id, { seat_numbers: [1, 2] })).body;
    await expire(created.hold_id);
    expect((await api("GET", `/api/v1/holds/${created.token}`, { token: u.token })).body.status).toBe("EXPIRED");
    const confirm = await api("POST", `/api/v1/holds/${created.token}/confirm`, { token: u.token });
    expect([confirm.status, confirm.body.code]).toEqual([409, "HOLD_EXPIRED"]);
    const extend = await api("PATCH", `/api/v1/holds/${created.token}`, { token: u.token });
    expect([extend.status, extend.body.code]).toEqual([409, "HOLD_EXPIRED"]);
    // Before the janitor: the holder cannot book it, others still see it held.
    const own = await api("POST", `/api/v1/events/${event.id}/book/1`, { token: u.token });
    expect([own.status, own.body.code]).toEqual([409, "HOLD_EXPIRED"]);
    const ownMany = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: u.token,
      body: { seat_numbers: [2] },
    });
    expect(ownMany.body.code).toBe("HOLD_EXPIRED");
    expect((await api("POST", `/api/v1/events/${event.id}/book/1`, { token: other.token })).body.code).toBe(
      "SEAT_HELD",
    );
    // Other tests' expired holds in this database go in the same pass.
    expect(await expireHolds()).toBeGreaterThanOrEqual(1);
    expect(await expireHolds()).toBe(0);
    expect((await seatRows(event.id)).map((s) => [s.status, s.holdId])).toEqual([
      ["AVAILABLE", null],
      ["AVAILABLE", null],
      ["AVAILABLE", null],
    ]);
    const [h] = await sql`select status, ended_at from holds where id = ${created.hold_id}`;
    expect(h?.status).toBe("EXPIRED");
    const expired = await sql`select payload from outbox where stream = 'domain.events'
                              and payload->>'type' = 'hold.expired' and (payload->'data'->>'hold_id')::int = ${created.hold_id}`;
    expect(expired.length).toBe(1);
    const released =
      await sql`select payload from outbox where stream = 'seat.released' and payload->>'reason' = 'hold_expired'
                               and (payload->>'event_id')::int = ${event.id}`;
    expect(released.length).toBe(2);
    expect((await api("POST", `/api/v1/events/${event.id}/book/1`, { token: other.token })).status).toBe(201);
    // Releasing an ended hold changes nothing.
    expect((await api("DELETE", `/api/v1/holds/${created.token}`, { token: u.token })).status).toBe(204);
  });

  it("hands an expired hold's seats to the waitlist head in the same transaction, one seat per person", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    const u = await registerAndLogin("hw");
    const created = (await hold(u, event.id, { seat_numbers: [1, 2] })).body;
    await takeSeats(event.id, [3]);
    const w1 = await registerAndLogin("hw1");
    const w2 = await registerAndLogin("hw2");
    for (const w of [w1, w2])
      expect((await api("POST", `/api/v1/waitlist/${event.id}`, { token: w.token })).status).toBe(201);
    await expire(created.hold_id);
    expect(await expireHolds()).toBeGreaterThanOrEqual(1);
    const rows = await seatRows(event.id);
    expect(rows.slice(0, 2).map((s) => [s.status, s.heldBy, s.holdId])).toEqual([
      ["HELD", w1.id, null],
      ["HELD", w2.id, null],
    ]);
    expect((await api("GET", `/api/v1/waitlist/${event.id}`, { token: w1.token })).status).toBe(404);
    expect((await api("POST", `/api/v1/events/${event.id}/book/2`, { token: w2.token })).status).toBe(201);
  });
});

describe("cached views", () => {
  it("never show a held seat as free after the answer, nor a released or confirmed one as held", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    const u = await registerAndLogin("hv");
    const statuses = async () => {
      const [map, doc] = await Promise.all([
        api("GET", `/api/v1/events/${event.id}/seats`),
        api("GET", `/api/v1/events/${event.id}`),
      ]);
      return {
        seats: map.body.map((s: { status: string }) => s.status).join(","),
        available: doc.body.available_seats,
        held: doc.body.held_seats,
      };
    };
    expect(await statuses()).toEqual({ seats: "AVAILABLE,AVAILABLE,AVAILABLE", available: 3, held: 0 }); // cached now
    const a = (await hold(u, event.id, { seat_numbers: [1, 2] })).body;
    expect(await statuses()).toEqual({ seats: "HELD,HELD,AVAILABLE", available: 1, held: 2 });
    expect((await api("DELETE", `/api/v1/holds/${a.token}`, { token: u.token })).status).toBe(204);
    expect(await statuses()).toEqual({ seats: "AVAILABLE,AVAILABLE,AVAILABLE", available: 3, held: 0 });
    const b = (await hold(u, event.id, { seat_numbers: [3] })).body;
    expect((await statuses()).seats).toBe("AVAILABLE,AVAILABLE,HELD");
    expect((await api("POST", `/api/v1/holds/${b.token}/confirm`, { token: u.token })).status).toBe(201);
    expect(await statuses()).toEqual({ seats: "AVAILABLE,AVAILABLE,BOOKED", available: 2, held: 0 });
    const c = (await hold(u, event.id, { seat_numbers: [1] })).body;
    expect((await statuses()).seats).toBe("HELD,AVAILABLE,BOOKED");
    await expire(c.hold_id);
    expect(await expireHolds()).toBeGreaterThanOrEqual(1);
    expect((await statuses()).seats).toBe("AVAILABLE,AVAILABLE,BOOKED");
  });
});

describe("releasing and confirming", () => {
  it("DELETE frees the seats at once (204); confirm of a released hold is 409 HOLD_NOT_ACTIVE", async () => {
    const event = await createEvent(admin.token, { capacity: 2 });
    const u = await registerAndLogin("hr");
    const created = (await hold(u, event.id, { quantity: 2 })).body;
    expect((await api("DELETE", `/api/v1/holds/${created.token}`, { token: u.token })).status).toBe(204);
    expect((await seatRows(event.id)).map((s) => s.status)).toEqual(["AVAILABLE", "AVAILABLE"]);
    expect((await api("GET", `/api/v1/holds/${created.token}`, { token: u.token })).body.status).toBe("RELEASED");
    const confirm = await api("POST", `/api/v1/holds/${created.token}/confirm`, { token: u.token });
    expect([confirm.status, confirm.body.code]).toEqual([409, "HOLD_NOT_ACTIVE"]);
    const extend = await api("PATCH", `/api/v1/holds/${created.token}`, { token: u.token });
    expect([extend.status, extend.body.code]).toEqual([409, "HOLD_NOT_ACTIVE"]);
    expect((await api("DELETE", `/api/v1/holds/${created.token}`, { token: u.token })).status).toBe(204);
  });

  it("DELETE hands the seats to the waitlist head at once; deleting the event ends its holds", async () => {
    const event = await createEvent(admin.token, { capacity: 2 });
    const u = await registerAndLogin("hd");
    const created = (await hold(u, event.id, { seat_numbers: [1, 2] })).body;
    const w = await registerAndLogin("hdw");
    expect((await api("POST", `/api/v1/waitlist/${event.id}`, { token: w.token })).status).toBe(201);
    expect((await api("DELETE", `/api/v1/holds/${created.token}`, { token: u.token })).status).toBe(204);
    // One seat each: the one person waiting gets seat 1, seat 2 goes back on sale.
    expect((await seatRows(event.id)).map((s) => [s.status, s.heldBy])).toEqual([
      ["HELD", w.id],
      ["AVAILABLE", null],
    ]);
    const released =
      await sql`select 1 from outbox where stream = 'seat.released' and payload->>'reason' = 'hold_released'
                               and (payload->>'event_id')::int = ${event.id}`;
    expect(released.length).toBe(1);

    const e2 = await createEvent(admin.token, { capacity: 2 });
    const live = (await hold(u, e2.id, { quantity: 1 })).body;
    expect((await api("DELETE", `/api/v1/events/${e2.id}`, { token: admin.token })).status).toBe(204);
    expect((await api("GET", `/api/v1/holds/${live.token}`, { token: u.token })).body.status).toBe("RELEASED");
    expect((await seatRows(e2.id)).map((s) => [s.status, s.holdId])).toEqual([
      ["AVAILABLE", null],
      ["AVAILABLE", null],
    ]);
  });

  it("confirm turns the hold into bookings (201, the booking shape) and answers the same bookings again", async () => {
    const event = await createEvent(admin.token, { capacity: 4, venue: "Hall H" });
    const u = await registerAndLogin("hc");
    const created = (await hold(u, event.id, { seat_numbers: [2, 3] })).body;
    const first = await api("POST", `/api/v1/holds/${created.token}/confirm`, { token: u.token });
    expect(first.status).toBe(201);
    expect(first.body.bookings).toHaveLength(2);
    expect(first.body.bookings[0]).toMatchObject({
      event_id: event.id,
      seat_number: 2,
      status: "BOOKED",
      venue: "Hall H",
      event_name: event.name,
      cancelled_at: null,
    });
    expect(Object.keys(first.body.bookings[0]).sort()).toEqual(
      ["booking_id", "cancelled_at", "created_at", "event_id", "event_name", "seat_number", "status", "venue"].sort(),
    );
    const second = await api("POST", `/api/v1/holds/${created.token}/confirm`, { token: u.token });
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect((await api("GET", `/api/v1/holds/${created.token}`, { token: u.token })).body.status).toBe("CONFIRMED");
    const del = await api("DELETE", `/api/v1/holds/${created.token}`, { token: u.token });
    expect([del.status, del.body.code]).toEqual([409, "HOLD_NOT_ACTIVE"]);
    expect(await seatInvariants(event.id)).toMatchObject({
      booked: 2,
      held: 0,
      bookedBookings: 2,
      seatsBookedTwice: 0,
    });
    const mine = await api("GET", "/api/v1/bookings", { token: u.token });
    expect(mine.body.map((b: { seat_number: number }) => b.seat_number).sort()).toEqual([2, 3]);
  });

  it("confirms concurrently exactly once", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    const u = await registerAndLogin("hcc");
    const created = (await hold(u, event.id, { quantity: 3 })).body;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => api("POST", `/api/v1/holds/${created.token}/confirm`, { token: u.token })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(201));
    const ids = new Set(answers.map((a) => JSON.stringify(a.body)));
    expect(ids.size).toBe(1);
    expect(await seatInvariants(event.id)).toMatchObject({ booked: 3, bookedBookings: 3, seatsBookedTwice: 0 });
  });
});
