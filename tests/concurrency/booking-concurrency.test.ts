import { beforeAll, describe, expect, it } from "bun:test";
import { createEvent, seatInvariants } from "../support/fixtures";
import { adminToken, api, manyUsers } from "../support/http";

let admin: { token: string };
beforeAll(async () => {
  admin = await adminToken();
});

const statuses = (rs: { status: number }[]) =>
  rs.reduce<Record<number, number>>((acc, r) => {
    acc[r.status] = (acc[r.status] ?? 0) + 1;
    return acc;
  }, {});

describe("concurrent booking (real PostgreSQL, hundreds of simultaneous requests)", () => {
  it("sells one seat exactly once when 300 users race for it", async () => {
    const event = await createEvent(admin.token, { capacity: 5 });
    const users = await manyUsers(300);
    const responses = await Promise.all(
      users.map((u) => api("POST", `/api/v1/events/${event.id}/book/3`, { token: u.token })),
    );
    expect(statuses(responses)).toEqual({ 201: 1, 409: 299 });
    expect(new Set(responses.filter((r) => r.status === 409).map((r) => r.body.code))).toEqual(
      new Set(["SEAT_ALREADY_BOOKED"]),
    );
    const inv = await seatInvariants(event.id);
    expect(inv).toMatchObject({ booked: 1, bookedBookings: 1, seatsBookedTwice: 0, bookedSeatsWithoutOneBooking: 0 });
  }, 60_000);

  it("sells exactly 50 seats to 200 best-available buyers, nobody twice", async () => {
    const event = await createEvent(admin.token, { capacity: 50 });
    const users = await manyUsers(200);
    const responses = await Promise.all(
      users.map((u) => api("POST", `/api/v1/events/${event.id}/bookings`, { token: u.token, body: { quantity: 1 } })),
    );
    const won = responses.filter((r) => r.status === 201);
    expect(won.length).toBe(50);
    expect(responses.filter((r) => r.status !== 201).every((r) => r.body.code === "NOT_ENOUGH_SEATS")).toBe(true);
    const seats = won.map((r) => r.body.bookings[0].seat_number);
    expect(new Set(seats).size).toBe(50);
    const inv = await seatInvariants(event.id);
    expect(inv).toMatchObject({ available: 0, booked: 50, bookedBookings: 50, seatsBookedTwice: 0 });
  }, 60_000);

  it("never deadlocks when two users book overlapping seat sets in opposite orders, 100 times at once", async () => {
    const [a, b] = await manyUsers(2, "overlap");
    const events = await Promise.all(Array.from({ length: 100 }, () => createEvent(admin.token, { capacity: 4 })));
    const responses = await Promise.all(
      events.flatMap((e) => [
        api("POST", `/api/v1/events/${e.id}/bookings`, { token: a?.token, body: { seat_numbers: [1, 2, 3] } }),
        api("POST", `/api/v1/events/${e.id}/bookings`, { token: b?.token, body: { seat_numbers: [3, 2, 1] } }),
      ]),
    );
    // Per event exactly one of the two wins; the other gets a clean 409, never a 500 (deadlock).
    expect(statuses(responses)).toEqual({ 201: 100, 409: 100 });
    for (const e of events) {
      expect((await seatInvariants(e.id)).seatsBookedTwice).toBe(0);
    }
  }, 120_000);

  it("holds the per-user limit when one user fires many requests at once", async () => {
    const [u] = await manyUsers(1, "greedy");
    const event = await createEvent(admin.token, { capacity: 100 });
    const responses = await Promise.all(
      Array.from({ length: 30 }, () =>
        api("POST", `/api/v1/events/${event.id}/bookings`, { token: u?.token, body: { quantity: 1 } }),
      ),
    );
    expect(statuses(responses)).toEqual({ 201: 10, 409: 20 });
    expect((await seatInvariants(event.id)).bookedBookings).toBe(10);
  }, 60_000);

  it("cancels each booking once when the same cancel is sent 50 times at once", async () => {
    const [u] = await manyUsers(1, "canceller");
    const event = await createEvent(admin.token, { capacity: 3 });
    const booked = await api("POST", `/api/v1/events/${event.id}/book/1`, { token: u?.token });
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        api("DELETE", `/api/v1/bookings/cancel/${booked.body.booking_id}`, { token: u?.token }),
      ),
    );
    expect(statuses(responses)).toEqual({ 200: 1, 409: 49 });
    expect((await seatInvariants(event.id)).available).toBe(3);
  }, 60_000);
});

describe("admin changes racing bookings", () => {
  it("never deadlocks an event delete or shrink against bookings in flight", async () => {
    const users = await manyUsers(60, "racer");
    for (let round = 0; round < 5; round++) {
      const shrinkMe = await createEvent(admin.token, { capacity: 40 });
      const deleteMe = await createEvent(admin.token, { capacity: 40 });
      const responses = await Promise.all([
        ...users
          .slice(0, 30)
          .map((u, i) => api("POST", `/api/v1/events/${shrinkMe.id}/book/${40 - (i % 20)}`, { token: u.token })),
        api("PUT", `/api/v1/events/${shrinkMe.id}`, { token: admin.token, body: { capacity: 20 } }),
        ...users
          .slice(30)
          .map((u, i) => api("POST", `/api/v1/events/${deleteMe.id}/book/${i + 1}`, { token: u.token })),
        api("DELETE", `/api/v1/events/${deleteMe.id}`, { token: admin.token }),
      ]);
      expect(responses.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);
      const shrink = await seatInvariants(shrinkMe.id);
      expect(shrink.seatRows).toBe(shrink.capacity);
      expect(shrink.seatsBookedTwice).toBe(0);
      expect((await seatInvariants(deleteMe.id)).bookedBookings).toBe(0);
    }
  }, 120_000);
});
