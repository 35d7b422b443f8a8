import { beforeAll, describe, expect, it } from "bun:test";
import fc from "fast-check";
import { createEvent, seatInvariants } from "../support/fixtures";
import { adminToken, api, manyUsers } from "../support/http";

/**
 * Model-based test: random sequences of book / book-many / book-quantity / cancel / resize /
 * delete by several users. The model predicts each answer; after every step the database must
 * satisfy the invariants (no seat sold twice, seat counts add up to capacity, every BOOKED seat
 * has exactly one BOOKED booking).
 */
const LIMIT = 10; // MAX_SEATS_PER_USER_PER_EVENT default

interface Model {
  capacity: number;
  owner: Map<number, number>; // seat_number -> user index
  bookings: { id: number; user: number; seat: number; active: boolean }[];
  deleted: boolean;
}
interface Real {
  eventId: number;
  users: { id: number; token: string }[];
  adminToken: string;
}

const held = (m: Model, u: number) => [...m.owner.values()].filter((o) => o === u).length;
const free = (m: Model) => Array.from({ length: m.capacity }, (_, i) => i + 1).filter((n) => !m.owner.has(n));

async function checkInvariants(m: Model, r: Real) {
  const inv = await seatInvariants(r.eventId);
  expect(inv.seatsBookedTwice).toBe(0);
  expect(inv.bookedSeatsWithoutOneBooking).toBe(0);
  expect(inv.booked).toBe(inv.bookedBookings);
  expect(inv.available + inv.held + inv.booked).toBe(inv.capacity);
  expect(inv.seatRows).toBe(inv.capacity);
  expect(inv.capacity).toBe(m.capacity);
  expect(inv.booked).toBe(m.owner.size);
}

class Book implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly seats: number[],
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const single = this.seats.length === 1;
    const path = single ? `/api/v1/events/${r.eventId}/book/${this.seats[0]}` : `/api/v1/events/${r.eventId}/bookings`;
    const res = await api("POST", path, {
      token: r.users[this.user]?.token,
      body: single ? undefined : { seat_numbers: this.seats },
    });
    const expected = m.deleted
      ? 404
      : this.seats.some((s) => s > m.capacity)
        ? 404
        : this.seats.some((s) => m.owner.has(s))
          ? 409
          : held(m, this.user) + this.seats.length > LIMIT
            ? 409
            : 201;
    expect(res.status).toBe(expected);
    if (res.status === 201) {
      const list = single ? [res.body] : res.body.bookings;
      for (const b of list) {
        m.owner.set(b.seat_number, this.user);
        m.bookings.push({ id: b.booking_id, user: this.user, seat: b.seat_number, active: true });
      }
    }
    await checkInvariants(m, r);
  }
  toString = () => `book(u${this.user}, [${this.seats}])`;
}

class BookQuantity implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly quantity: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const res = await api("POST", `/api/v1/events/${r.eventId}/bookings`, {
      token: r.users[this.user]?.token,
      body: { quantity: this.quantity },
    });
    const lowest = free(m).slice(0, this.quantity);
    const expected = m.deleted
      ? 404
      : lowest.length < this.quantity
        ? 409
        : held(m, this.user) + this.quantity > LIMIT
          ? 409
          : 201;
    expect(res.status).toBe(expected);
    if (res.status === 201) {
      expect(res.body.bookings.map((b: { seat_number: number }) => b.seat_number)).toEqual(lowest);
      for (const b of res.body.bookings) {
        m.owner.set(b.seat_number, this.user);
        m.bookings.push({ id: b.booking_id, user: this.user, seat: b.seat_number, active: true });
      }
    }
    await checkInvariants(m, r);
  }
  toString = () => `quantity(u${this.user}, ${this.quantity})`;
}

class Cancel implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly user: number,
    readonly pick: number,
  ) {}
  check = (m: Readonly<Model>) => m.bookings.length > 0;
  async run(m: Model, r: Real) {
    const booking = m.bookings[this.pick % m.bookings.length] as Model["bookings"][number];
    const res = await api("DELETE", `/api/v1/bookings/cancel/${booking.id}`, { token: r.users[this.user]?.token });
    const expected = booking.user !== this.user ? 404 : booking.active ? 200 : 409;
    expect(res.status).toBe(expected);
    if (res.status === 200) {
      booking.active = false;
      m.owner.delete(booking.seat);
    }
    await checkInvariants(m, r);
  }
  toString = () => `cancel(u${this.user}, #${this.pick})`;
}

class Resize implements fc.AsyncCommand<Model, Real> {
  constructor(readonly capacity: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const res = await api("PUT", `/api/v1/events/${r.eventId}`, {
      token: r.adminToken,
      body: { capacity: this.capacity },
    });
    const blocked = [...m.owner.keys()].some((s) => s > this.capacity);
    expect(res.status).toBe(m.deleted ? 404 : blocked ? 409 : 200);
    if (res.status === 200) m.capacity = this.capacity;
    await checkInvariants(m, r);
  }
  toString = () => `resize(${this.capacity})`;
}

class Delete implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real) {
    const res = await api("DELETE", `/api/v1/events/${r.eventId}`, { token: r.adminToken });
    expect(res.status).toBe(m.deleted ? 404 : 204);
    m.deleted = true;
    m.owner.clear();
    for (const b of m.bookings) b.active = false;
    await checkInvariants(m, r);
  }
  toString = () => "delete()";
}

let admin: { token: string };
let users: { id: number; token: string }[];
beforeAll(async () => {
  admin = await adminToken();
  users = await manyUsers(3, "model");
});

describe("booking state machine (model-based, fast-check)", () => {
  it("keeps every invariant through random command sequences", async () => {
    const user = fc.integer({ min: 0, max: 2 });
    const seat = fc.integer({ min: 1, max: 14 });
    // Weighted so that deleting the event (after which everything is 404) comes rarely.
    const commands = [
      fc.oneof(
        { weight: 6, arbitrary: fc.tuple(user, seat).map(([u, s]) => new Book(u, [s])) },
        {
          weight: 3,
          arbitrary: fc
            .tuple(user, fc.uniqueArray(seat, { minLength: 2, maxLength: 4 }))
            .map(([u, s]) => new Book(u, s)),
        },
        {
          weight: 3,
          arbitrary: fc.tuple(user, fc.integer({ min: 1, max: 4 })).map(([u, q]) => new BookQuantity(u, q)),
        },
        { weight: 4, arbitrary: fc.tuple(user, fc.nat()).map(([u, p]) => new Cancel(u, p)) },
        { weight: 2, arbitrary: fc.integer({ min: 1, max: 14 }).map((c) => new Resize(c)) },
        { weight: 1, arbitrary: fc.constant(null).map(() => new Delete()) },
      ),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.commands(commands, { maxCommands: 25 }),
        async (cap, cmds) => {
          const event = await createEvent(admin.token, { capacity: cap });
          const model: Model = { capacity: cap, owner: new Map(), bookings: [], deleted: false };
          await fc.asyncModelRun(() => ({ model, real: { eventId: event.id, users, adminToken: admin.token } }), cmds);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
