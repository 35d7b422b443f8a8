import { beforeAll, describe, expect, it } from "bun:test";
import { purgeExpiredKeys } from "../../src/http/idempotency";
import { sql } from "../../src/platform/db";
import { createEvent, seatInvariants, startEvent } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";

let admin: { token: string };
let alice: { token: string; id: number };
let bob: { token: string; id: number };
beforeAll(async () => {
  admin = await adminToken();
  alice = await registerAndLogin("alice");
  bob = await registerAndLogin("bob");
});

describe("booking one seat", () => {
  it("answers 201 with the seed's booking fields", async () => {
    const event = await createEvent(admin.token, { venue: "Blue Room" });
    const res = await api("POST", `/api/v1/events/${event.id}/book/4`, { token: alice.token });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ event_id: event.id, seat_number: 4, status: "BOOKED", venue: "Blue Room" });
    expect(typeof res.body.booking_id).toBe("number");
    expect(new Date(res.body.created_at).toString()).not.toBe("Invalid Date");
  });

  it("refuses a second booking of the same seat with 409 SEAT_ALREADY_BOOKED", async () => {
    const event = await createEvent(admin.token);
    await api("POST", `/api/v1/events/${event.id}/book/1`, { token: alice.token });
    const res = await api("POST", `/api/v1/events/${event.id}/book/1`, { token: bob.token });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("SEAT_ALREADY_BOOKED");
  });

  it("answers 404 for an unknown event or seat, and 422 for seat 0 or a non-number", async () => {
    const event = await createEvent(admin.token, { capacity: 5 });
    expect((await api("POST", "/api/v1/events/99999999/book/1", { token: alice.token })).body.code).toBe(
      "EVENT_NOT_FOUND",
    );
    expect((await api("POST", `/api/v1/events/${event.id}/book/6`, { token: alice.token })).body.code).toBe(
      "SEAT_NOT_FOUND",
    );
    expect((await api("POST", `/api/v1/events/${event.id}/book/0`, { token: alice.token })).status).toBe(422);
    expect((await api("POST", `/api/v1/events/${event.id}/book/x`, { token: alice.token })).status).toBe(422);
    expect((await seatInvariants(event.id)).bookedBookings).toBe(0);
  });

  it("refuses booking without a token with 401", async () => {
    const event = await createEvent(admin.token);
    expect((await api("POST", `/api/v1/events/${event.id}/book/1`)).status).toBe(401);
  });

  it("refuses with 409 EVENT_STARTED once the event has begun", async () => {
    const event = await createEvent(admin.token);
    await startEvent(event.id);
    const res = await api("POST", `/api/v1/events/${event.id}/book/1`, { token: alice.token });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("EVENT_STARTED");
  });

  it("lets only the holder book a HELD seat; others get 409 SEAT_HELD", async () => {
    const event = await createEvent(admin.token);
    await sql`update seats set status = 'HELD', held_by = ${alice.id}, hold_expires_at = now() + interval '5 minutes'
                    where event_id = ${event.id} and seat_number = 2`;
    const other = await api("POST", `/api/v1/events/${event.id}/book/2`, { token: bob.token });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe("SEAT_HELD");
    const holder = await api("POST", `/api/v1/events/${event.id}/book/2`, { token: alice.token });
    expect(holder.status).toBe(201);
    const inv = await seatInvariants(event.id);
    expect(inv).toMatchObject({ held: 0, booked: 1, bookedSeatsWithoutOneBooking: 0 });
  });

  it("keeps an expired hold held until the janitor hands it over: others get SEAT_HELD, the holder HOLD_EXPIRED (expiry is exact)", async () => {
    const event = await createEvent(admin.token);
    await sql`update seats set status = 'HELD', held_by = ${alice.id}, hold_expires_at = now() - interval '1 second'
                    where event_id = ${event.id} and seat_number = 3`;
    const other = await api("POST", `/api/v1/events/${event.id}/book/3`, { token: bob.token });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe("SEAT_HELD");
    const late = await api("POST", `/api/v1/events/${event.id}/book/3`, { token: alice.token });
    expect([late.status, late.body.code]).toEqual([409, "HOLD_EXPIRED"]);
    // Before its end the holder books it.
    await sql`update seats set hold_expires_at = now() + interval '1 minute' where event_id = ${event.id} and seat_number = 3`;
    expect((await api("POST", `/api/v1/events/${event.id}/book/3`, { token: alice.token })).status).toBe(201);
  });
});

describe("booking several seats", () => {
  it("books named seats all or nothing", async () => {
    const event = await createEvent(admin.token, { capacity: 6 });
    await api("POST", `/api/v1/events/${event.id}/book/5`, { token: bob.token });
    const partial = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: alice.token,
      body: { seat_numbers: [4, 5, 6] },
    });
    expect(partial.status).toBe(409);
    expect(partial.body.code).toBe("SEAT_ALREADY_BOOKED");
    expect((await seatInvariants(event.id)).booked).toBe(1);
    const ok = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: alice.token,
      body: { seat_numbers: [6, 1, 2] },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.bookings.map((b: { seat_number: number }) => b.seat_number)).toEqual([1, 2, 6]);
  });

  it("books the best available seats for a quantity and says when there are not enough", async () => {
    const event = await createEvent(admin.token, { capacity: 4 });
    await api("POST", `/api/v1/events/${event.id}/book/1`, { token: bob.token });
    const res = await api("POST", `/api/v1/events/${event.id}/bookings`, { token: alice.token, body: { quantity: 2 } });
    expect(res.status).toBe(201);
    expect(res.body.bookings.map((b: { seat_number: number }) => b.seat_number)).toEqual([2, 3]);
    const tooMany = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: bob.token,
      body: { quantity: 2 },
    });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.code).toBe("NOT_ENOUGH_SEATS");
  });

  it("limits seats per request (422 TOO_MANY_SEATS) and per user per event (409 USER_SEAT_LIMIT)", async () => {
    const event = await createEvent(admin.token, { capacity: 30 });
    const many = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: alice.token,
      body: { quantity: 11 },
    });
    expect(many.status).toBe(422);
    expect(many.body.code).toBe("TOO_MANY_SEATS");
    expect(
      (await api("POST", `/api/v1/events/${event.id}/bookings`, { token: alice.token, body: { quantity: 8 } })).status,
    ).toBe(201);
    const over = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: alice.token,
      body: { quantity: 3 },
    });
    expect(over.status).toBe(409);
    expect(over.body.code).toBe("USER_SEAT_LIMIT");
    expect(
      (await api("POST", `/api/v1/events/${event.id}/bookings`, { token: alice.token, body: { quantity: 2 } })).status,
    ).toBe(201);
  });

  it("rejects malformed bodies with 422: both or neither form, repeats, zero", async () => {
    const event = await createEvent(admin.token);
    for (const body of [{}, { seat_numbers: [] }, { seat_numbers: [1, 1] }, { quantity: 0 }, { seat_numbers: "1" }]) {
      const res = await api("POST", `/api/v1/events/${event.id}/bookings`, { token: alice.token, body });
      expect(res.status).toBe(422);
    }
    expect((await seatInvariants(event.id)).booked).toBe(0);
  });

  it("never lets a body change who owns the booking", async () => {
    const event = await createEvent(admin.token);
    const res = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: alice.token,
      body: { seat_numbers: [1], user_id: bob.id, status: "CANCELLED" },
    });
    expect(res.status).toBe(201);
    const [row] = await sql`select user_id, status from bookings where id = ${res.body.bookings[0].booking_id}`;
    expect(row).toEqual({ userId: alice.id, status: "BOOKED" });
  });
});

describe("Idempotency-Key", () => {
  it("answers 20 simultaneous identical requests identically and books once", async () => {
    const event = await createEvent(admin.token);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        api("POST", `/api/v1/events/${event.id}/book/7`, {
          token: alice.token,
          headers: { "idempotency-key": "same-1" },
        }),
      ),
    );
    expect(new Set(responses.map((r) => r.status))).toEqual(new Set([201]));
    expect(new Set(responses.map((r) => r.text)).size).toBe(1);
    expect((await seatInvariants(event.id)).bookedBookings).toBe(1);
  });

  it("replays a refusal too, and answers 422 for the same key with another body", async () => {
    const event = await createEvent(admin.token);
    await api("POST", `/api/v1/events/${event.id}/book/1`, { token: bob.token });
    const first = await api("POST", `/api/v1/events/${event.id}/book/1`, {
      token: alice.token,
      headers: { "idempotency-key": "refused-1" },
    });
    expect(first.status).toBe(409);
    const again = await api("POST", `/api/v1/events/${event.id}/book/1`, {
      token: alice.token,
      headers: { "idempotency-key": "refused-1" },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe(first.body.code);
    const other = await api("POST", `/api/v1/events/${event.id}/book/2`, {
      token: alice.token,
      headers: { "idempotency-key": "refused-1" },
    });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    expect((await seatInvariants(event.id)).booked).toBe(1);
  });

  it("keeps keys per user: another user's identical key books for them", async () => {
    const event = await createEvent(admin.token);
    const a = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: alice.token,
      headers: { "idempotency-key": "shared-key" },
      body: { quantity: 1 },
    });
    const b = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: bob.token,
      headers: { "idempotency-key": "shared-key" },
      body: { quantity: 1 },
    });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.bookings[0].seat_number).not.toBe(b.body.bookings[0].seat_number);
  });

  it("rejects an unusable key with 422", async () => {
    const event = await createEvent(admin.token);
    const res = await api("POST", `/api/v1/events/${event.id}/book/1`, {
      token: alice.token,
      headers: { "idempotency-key": "x".repeat(300) },
    });
    expect(res.status).toBe(422);
  });

  it("purges keys after their 24 hours, and then a retry with the key books anew", async () => {
    const event = await createEvent(admin.token);
    const first = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: alice.token,
      headers: { "idempotency-key": "old-key" },
      body: { quantity: 1 },
    });
    expect(first.status).toBe(201);
    await sql`update idempotency_keys set expires_at = now() - interval '1 second'
                    where user_id = ${alice.id} and key = 'old-key'`;
    expect(await purgeExpiredKeys()).toBeGreaterThanOrEqual(1);
    const rows = await sql`select 1 from idempotency_keys where user_id = ${alice.id} and key = 'old-key'`;
    expect(rows.length).toBe(0);
    const again = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: alice.token,
      headers: { "idempotency-key": "old-key" },
      body: { quantity: 1 },
    });
    expect(again.status).toBe(201);
    expect(again.body.bookings[0].seat_number).not.toBe(first.body.bookings[0].seat_number);
  });
});
