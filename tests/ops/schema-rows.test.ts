import { beforeAll, describe, expect, it } from "bun:test";
import { getTableColumns, type Table } from "drizzle-orm";
import { bookings, events, seats, users } from "../../src/db/schema";
import { selectPopularEvents, type EventRow as UtilizationRow } from "../../src/modules/analytics/analytics.repo";
import { type BookingRow, findBooking } from "../../src/modules/bookings/bookings.repo";
import { findLiveEvent } from "../../src/modules/events/events.repo";
import { bookSeats, lockSeatForOffer, type OfferSeat } from "../../src/modules/inventory/inventory.repo";
import { findUserById } from "../../src/modules/users/users.repo";
import { readSql, sql } from "../../src/platform/db";
import { createEvent } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";

/**
 * Rows are typed from the Drizzle schema but built by hand-written SQL: these tests read one row
 * per module through its repo and check that the keys PostgreSQL returns (camelCased) are the
 * keys the row type promises, and that those taken from a table are named as in the schema.
 */

/** The keys of a row type; the compiler checks the list against the type, no more and no fewer. */
const keysOf = <T>(shape: Record<keyof T, true>) => Object.keys(shape).sort();

const columnsOf = (...tables: Table[]) => tables.flatMap((t) => Object.keys(getTableColumns(t)));

/** The row has exactly `keys`; those not `computed` in the SELECT are columns of `tables`. */
function expectRow(row: object | undefined, keys: string[], tables: Table[], computed: string[]) {
  if (!row) throw new Error("no row");
  expect(Object.keys(row).sort()).toEqual(keys);
  const columns = columnsOf(...tables);
  expect(keys.filter((k) => !computed.includes(k) && !columns.includes(k))).toEqual([]);
}

let user: { id: number; token: string };
let event: { id: number };
let bookingId: number;
let seatId: number;
beforeAll(async () => {
  const admin = await adminToken();
  user = await registerAndLogin("rows");
  event = await createEvent(admin.token, { capacity: 3 });
  const booked = await api("POST", `/api/v1/events/${event.id}/book/1`, { token: user.token });
  bookingId = booked.body.booking_id;
  const [seat] = await sql<{ id: number }[]>`select id from seats where event_id = ${event.id} and seat_number = 2`;
  seatId = seat?.id ?? 0;
});

describe("rows read through the repos", () => {
  it("users: a user row has exactly the users table's columns", async () => {
    const row = await findUserById(sql, user.id);
    expect(Object.keys(row ?? {}).sort()).toEqual(columnsOf(users).sort());
    expect(row?.createdAt).toBeInstanceOf(Date);
  });

  it("events: an event row has exactly the events table's columns", async () => {
    const row = await findLiveEvent(sql, event.id);
    expect(Object.keys(row ?? {}).sort()).toEqual(columnsOf(events).sort());
    expect(row?.startTime).toBeInstanceOf(Date);
  });

  it("bookings: a booking row has the BookingRow keys, its columns named as in bookings and events", async () => {
    const row = await findBooking(sql, bookingId);
    const keys = keysOf<BookingRow>({
      bookingId: true,
      eventId: true,
      userId: true,
      seatId: true,
      seatNumber: true,
      status: true,
      createdAt: true,
      cancelledAt: true,
      venue: true,
      eventName: true,
      eventStarted: true,
    });
    expectRow(row, keys, [bookings, events], ["bookingId", "eventName", "eventStarted"]);
    expect(row?.createdAt).toBeInstanceOf(Date);
  });

  it("seats: the booking function answers the BookingOutcome shape", async () => {
    const outcome = await bookSeats(sql, user.id, event.id, { seatNumbers: [3] }, 10);
    expect(Object.keys(outcome).sort()).toEqual(["accepted_offers", "bookings", "code", "event_name", "venue"]);
    if (outcome.code !== "OK") throw new Error(outcome.code);
    expect(Object.keys(outcome.bookings[0] ?? {}).sort()).toEqual([
      "booking_id",
      "created_at",
      "seat_number",
      "version",
    ]);
    const refused = await bookSeats(sql, user.id, event.id, { seatNumbers: [3] }, 10);
    expect(refused).toEqual({ code: "SEAT_ALREADY_BOOKED", seats: [3] });
  });

  it("waitlist: a seat locked for an offer has the OfferSeat keys, its columns named as in seats", async () => {
    const row = await sql.begin((tx) => lockSeatForOffer(tx, seatId));
    const keys = keysOf<OfferSeat>({ status: true, seatNumber: true, eventName: true, gone: true });
    expectRow(row, keys, [seats], ["eventName", "gone"]);
  });

  it("analytics: an event's utilization has the row type's keys, its columns named as in events", async () => {
    const rows = await selectPopularEvents(readSql, 50);
    const row = rows.find((r) => r.id === event.id);
    const keys = keysOf<UtilizationRow>({
      id: true,
      name: true,
      venue: true,
      capacity: true,
      booked: true,
      utilization: true,
      status: true,
    });
    expectRow(row, keys, [events], ["booked", "utilization", "status"]);
  });
});
