import { beforeAll, describe, expect, it } from "bun:test";
import { sql } from "../../src/platform/db";
import { createEvent, seatInvariants } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";

let admin: { token: string };
let user: { token: string; id: number };
beforeAll(async () => {
  admin = await adminToken();
  user = await registerAndLogin("events");
});

const future = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

describe("creating events", () => {
  it("creates the event and seats 1..capacity in one go", async () => {
    const event = await createEvent(admin.token, { capacity: 250 });
    const seats = await sql`select min(seat_number)::int as lo, max(seat_number)::int as hi, count(*)::int as n
                                   from seats where event_id = ${event.id}`;
    expect(seats[0]).toEqual({ lo: 1, hi: 250, n: 250 });
    const detail = await api("GET", `/api/v1/events/${event.id}`);
    expect(detail.body).toMatchObject({ capacity: 250, available_seats: 250, booked_seats: 0, held_seats: 0 });
  });

  it("refuses non-admins with 403 and anonymous callers with 401", async () => {
    const body = { name: "Nope", start_time: future(3), capacity: 5 };
    expect((await api("POST", "/api/v1/events/", { token: user.token, body })).status).toBe(403);
    expect((await api("POST", "/api/v1/events/", { body })).status).toBe(401);
  });

  it("rejects bad capacities, bad dates and over-long fields with 422 and writes nothing", async () => {
    const before = await sql`select count(*)::int as n from events`;
    const bad = [
      { name: "A", start_time: future(1), capacity: 0 },
      { name: "A", start_time: future(1), capacity: -5 },
      { name: "A", start_time: future(1), capacity: 100_001 },
      { name: "A", start_time: future(1), capacity: 1.5 },
      { name: "A", start_time: "tomorrow", capacity: 5 },
      { name: "A", start_time: future(2), end_time: future(1), capacity: 5 },
      { name: "x".repeat(201), start_time: future(1), capacity: 5 },
      { name: "A", venue: "v".repeat(201), start_time: future(1), capacity: 5 },
      { name: "A", description: "d".repeat(5001), start_time: future(1), capacity: 5 },
      { name: "", start_time: future(1), capacity: 5 },
    ];
    for (const body of bad) {
      const res = await api("POST", "/api/v1/events/", { token: admin.token, body });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
    const after = await sql`select count(*)::int as n from events`;
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it("refuses a duplicate name, venue and start time with 409 EVENT_EXISTS", async () => {
    const start = future(40);
    await createEvent(admin.token, { name: "Twice", venue: "Arena", start_time: start });
    const again = await api("POST", "/api/v1/events/", {
      token: admin.token,
      body: { name: "Twice", venue: "Arena", start_time: start, capacity: 3 },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("EVENT_EXISTS");
  });

  it("ignores unknown fields such as created_by or id", async () => {
    const res = await api("POST", "/api/v1/events/", {
      token: admin.token,
      body: { name: `Owned ${Date.now()}`, start_time: future(5), capacity: 2, created_by: 999_999, id: 999_999 },
    });
    expect(res.status).toBe(201);
    expect(res.body.id).not.toBe(999_999);
    expect(res.body.created_by).not.toBe(999_999);
  });
});

describe("listing and reading events", () => {
  it("filters by case-insensitive name and venue substrings, orders by start, counts in X-Total-Count", async () => {
    const tag = `Zed${Date.now()}`;
    await createEvent(admin.token, { name: `${tag} late`, venue: "North Stage", start_time: future(9) });
    await createEvent(admin.token, { name: `${tag} early`, venue: "South Stage", start_time: future(8) });
    await createEvent(admin.token, { name: `${tag} other`, venue: "Cellar", start_time: future(7) });
    const res = await api("GET", `/api/v1/events/?name=${tag.toLowerCase()}&venue=STAGE`);
    expect(res.status).toBe(200);
    expect(res.body.map((e: { name: string }) => e.name)).toEqual([`${tag} early`, `${tag} late`]);
    expect(res.headers.get("x-total-count")).toBe("2");
    const page = await api("GET", `/api/v1/events?name=${tag}&limit=1&offset=1`);
    expect(page.body.length).toBe(1);
    expect(page.headers.get("x-total-count")).toBe("3");
  });

  it("filters by date range and treats % and _ literally", async () => {
    const tag = `Range${Date.now()}`;
    await createEvent(admin.token, { name: `${tag} a`, start_time: future(100) });
    await createEvent(admin.token, { name: `${tag} b`, start_time: future(200) });
    const res = await api("GET", `/api/v1/events/?name=${tag}&from_date=${future(150)}&to_date=${future(250)}`);
    expect(res.body.map((e: { name: string }) => e.name)).toEqual([`${tag} b`]);
    expect((await api("GET", "/api/v1/events/?name=%25%25%25")).body).toEqual([]);
  });

  it("rejects bad list parameters with 422", async () => {
    for (const q of ["limit=0", "limit=201", "offset=-1", "limit=abc", "from_date=yesterday"]) {
      expect((await api("GET", `/api/v1/events/?${q}`)).status).toBe(422);
    }
  });

  it("answers 404 for an unknown event and 422 for a non-numeric id", async () => {
    expect((await api("GET", "/api/v1/events/99999999")).body.code).toBe("EVENT_NOT_FOUND");
    for (const id of ["abc", "0", "1.5", "99999999999999999999"]) {
      const res = await api("GET", `/api/v1/events/${id}`);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors[0].field).toBe("param.id");
    }
  });
});

describe("seat map", () => {
  it("lists seats in order and filters by status", async () => {
    const event = await createEvent(admin.token, { capacity: 4 });
    await api("POST", `/api/v1/events/${event.id}/book/2`, { token: user.token });
    const all = await api("GET", `/api/v1/events/${event.id}/seats`);
    expect(all.status).toBe(200);
    expect(all.headers.get("content-type")).toContain("application/json");
    expect(all.body.map((s: { seat_number: number }) => s.seat_number)).toEqual([1, 2, 3, 4]);
    expect(all.body[1]).toMatchObject({ event_id: event.id, seat_number: 2, status: "BOOKED", extradata: {} });
    const booked = await api("GET", `/api/v1/events/${event.id}/seats?status=BOOKED`);
    expect(booked.body.map((s: { seat_number: number }) => s.seat_number)).toEqual([2]);
    expect((await api("GET", `/api/v1/events/${event.id}/seats?status=SOLD`)).status).toBe(422);
    expect((await api("GET", "/api/v1/events/99999999/seats")).status).toBe(404);
  });
});

describe("updating events", () => {
  it("grows capacity by adding seats and shrinks only over available seats", async () => {
    const event = await createEvent(admin.token, { capacity: 5 });
    const grown = await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { capacity: 8 } });
    expect(grown.status).toBe(200);
    expect(grown.body.capacity).toBe(8);
    expect((await seatInvariants(event.id)).seatRows).toBe(8);

    await api("POST", `/api/v1/events/${event.id}/book/7`, { token: user.token });
    const blocked = await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { capacity: 6 } });
    expect(blocked.status).toBe(409);
    expect(blocked.body.code).toBe("CAPACITY_SHRINK_CONFLICT");
    expect((await seatInvariants(event.id)).seatRows).toBe(8);

    const shrunk = await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { capacity: 7 } });
    expect(shrunk.status).toBe(200);
    const inv = await seatInvariants(event.id);
    expect(inv).toMatchObject({ capacity: 7, seatRows: 7, booked: 1 });
  });

  it("updates only the fields sent and checks end after start against stored values", async () => {
    const event = await createEvent(admin.token, { capacity: 2, start_time: future(10) });
    const res = await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { venue: "New Venue" } });
    expect(res.body).toMatchObject({ name: event.name, venue: "New Venue", capacity: 2 });
    const bad = await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { end_time: future(5) } });
    expect(bad.status).toBe(422);
    expect((await api("PUT", `/api/v1/events/${event.id}`, { token: user.token, body: { name: "x" } })).status).toBe(
      403,
    );
    expect((await api("PUT", "/api/v1/events/99999999", { token: admin.token, body: { name: "x" } })).status).toBe(404);
  });
});

describe("deleting events", () => {
  it("cancels its bookings, keeps the history, queues notifications and then answers 404", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    const booking = await api("POST", `/api/v1/events/${event.id}/book/1`, { token: user.token });
    expect(booking.status).toBe(201);
    expect((await api("DELETE", `/api/v1/events/${event.id}`, { token: user.token })).status).toBe(403);
    const del = await api("DELETE", `/api/v1/events/${event.id}`, { token: admin.token });
    expect(del.status).toBe(204);
    expect((await api("GET", `/api/v1/events/${event.id}`)).status).toBe(404);
    const mine = await api("GET", `/api/v1/bookings/${booking.body.booking_id}`, { token: user.token });
    expect(mine.body.status).toBe("CANCELLED");
    const notes = await sql`select payload from outbox where stream = 'notifications'
                                  and payload->>'kind' = 'event_cancelled' and payload->>'dedupe_key' like ${`event-deleted:${event.id}:%`}`;
    expect(notes.length).toBe(1);
    expect((await api("DELETE", `/api/v1/events/${event.id}`, { token: admin.token })).status).toBe(404);
    expect((await seatInvariants(event.id)).bookedBookings).toBe(0);
  });
});

describe("event bookings (admin)", () => {
  it("lists BOOKED bookings with user e-mail under both paths", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    await api("POST", `/api/v1/events/${event.id}/book/3`, { token: user.token });
    for (const path of [`/api/v1/events/${event.id}/bookings`, `/api/v1/events/bookings/${event.id}`]) {
      const res = await api("GET", path, { token: admin.token });
      expect(res.status).toBe(200);
      expect(res.body.bookings).toHaveLength(1);
      expect(res.body.bookings[0]).toMatchObject({ user_id: user.id, seat_number: 3 });
      expect((await api("GET", path, { token: user.token })).status).toBe(403);
    }
  });
});
