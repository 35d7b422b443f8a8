import { sql } from "../../src/platform/db";

/**
 * A known data set for the analytics tests, written straight with SQL in one transaction (the
 * deferred seat/booking triggers check it at COMMIT). Days are UTC days relative to today:
 * 0 = today, -1 = yesterday.
 *
 *   event            venue    cap  BOOKED seats (by user@day)                      CANCELLED
 *   E1 Rock Night    Arena     4   1 alice@-2, 2 bob@-2, 3 carol@-1, 4 alice@0       4 bob@-3 (cancelled -2)
 *   E2 Jazz Evening  Arena    10   1 alice@-1, 2 bob@0, 4 carol@-40                  3 carol@-1 (cancelled 0)
 *   E3 Poetry Slam   Library   3   1 carol@-5, 2 carol@0
 *   E4 Quiet Talk    (none)    5   -
 *   E5 Old Show      Arena     6   2 bob@-3              (event soft-deleted)        1 alice@-3 (cancelled -1)
 *   E6 Big Gig       Library   5   1 alice@-4, 2 bob@-4, 3 carol@-4, 4 alice@-3
 *
 * Users: alice, bob, carol, erin (no bookings), dave (soft-deleted), plus the test's admin.
 */

export type UserName = "alice" | "bob" | "carol" | "erin" | "dave";
export type EventName = "E1" | "E2" | "E3" | "E4" | "E5" | "E6";

const EVENTS: { key: EventName; name: string; venue: string | null; capacity: number; deleted?: boolean }[] = [
  { key: "E1", name: "Rock Night", venue: "Arena", capacity: 4 },
  { key: "E2", name: "Jazz Evening", venue: "Arena", capacity: 10 },
  { key: "E3", name: "Poetry Slam", venue: "Library", capacity: 3 },
  { key: "E4", name: "Quiet Talk", venue: null, capacity: 5 },
  { key: "E5", name: "Old Show", venue: "Arena", capacity: 6, deleted: true },
  { key: "E6", name: "Big Gig", venue: "Library", capacity: 5 },
];

interface BookingSpec {
  user: UserName;
  event: EventName;
  seat: number;
  day: number;
  cancelledDay?: number;
}

const BOOKINGS: BookingSpec[] = [
  { user: "alice", event: "E1", seat: 1, day: -2 },
  { user: "bob", event: "E1", seat: 2, day: -2 },
  { user: "carol", event: "E1", seat: 3, day: -1 },
  { user: "bob", event: "E1", seat: 4, day: -3, cancelledDay: -2 },
  { user: "alice", event: "E1", seat: 4, day: 0 },
  { user: "alice", event: "E2", seat: 1, day: -1 },
  { user: "bob", event: "E2", seat: 2, day: 0 },
  { user: "carol", event: "E2", seat: 3, day: -1, cancelledDay: 0 },
  { user: "carol", event: "E2", seat: 4, day: -40 },
  { user: "carol", event: "E3", seat: 1, day: -5 },
  { user: "carol", event: "E3", seat: 2, day: 0 },
  { user: "alice", event: "E5", seat: 1, day: -3, cancelledDay: -1 },
  { user: "bob", event: "E5", seat: 2, day: -3 },
  { user: "alice", event: "E6", seat: 1, day: -4 },
  { user: "bob", event: "E6", seat: 2, day: -4 },
  { user: "carol", event: "E6", seat: 3, day: -4 },
  { user: "alice", event: "E6", seat: 4, day: -3 },
];

export interface DataSet {
  users: Record<UserName, { id: number; email: string }>;
  events: Record<EventName, { id: number; name: string }>;
  /** Today's UTC date as the database sees it, YYYY-MM-DD. */
  today: string;
}

export async function buildDataSet(): Promise<DataSet> {
  const hash = "$2b$04$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z3ZJkBd0S2V1s5P4vYQxgkKW";
  const users = {} as DataSet["users"];
  const events = {} as DataSet["events"];
  const [{ today }] = (await sql`select to_char((now() at time zone 'UTC')::date, 'YYYY-MM-DD') as today`) as [
    { today: string },
  ];
  // 01:00 UTC on the given day: a fixed hour keeps each booking on its intended calendar day.
  const at = (day: number) => `${dayFrom(today, day)}T01:00:00Z`;
  await sql.begin(async (tx) => {
    for (const name of ["alice", "bob", "carol", "erin", "dave"] as UserName[]) {
      const email = `${name}@analytics.test`;
      const deleted = name === "dave" ? new Date().toISOString() : null;
      const [row] = await tx`insert into users (email, full_name, hashed_password, deleted_at)
        values (${email}, ${name}, ${hash}, ${deleted}) returning id`;
      users[name] = { id: Number(row!.id), email };
    }
    for (const e of EVENTS) {
      const deleted = e.deleted ? new Date().toISOString() : null;
      const [row] = await tx`insert into events (name, venue, start_time, capacity, deleted_at)
        values (${e.name}, ${e.venue}, now() + interval '30 days', ${e.capacity}, ${deleted}) returning id`;
      const id = Number(row!.id);
      events[e.key] = { id, name: e.name };
      await tx`insert into seats (event_id, seat_number) select ${id}, n from generate_series(1, ${e.capacity}) n`;
    }
    for (const b of BOOKINGS) {
      const eventId = events[b.event].id;
      const cancelled = b.cancelledDay === undefined ? null : at(b.cancelledDay);
      await tx`insert into bookings (user_id, event_id, seat_id, seat_number, status, created_at, cancelled_at)
        values (${users[b.user].id}, ${eventId},
          (select id from seats where event_id = ${eventId} and seat_number = ${b.seat}), ${b.seat},
          ${b.cancelledDay === undefined ? "BOOKED" : "CANCELLED"}, ${at(b.day)}, ${cancelled})`;
    }
    await tx`update seats set status = 'BOOKED'
      where id in (select seat_id from bookings where status = 'BOOKED')`;
  });
  return { users, events, today };
}

/** Adds one BOOKED booking today (seat 5 of E2, free in the data set); for the caching test. */
export async function bookOneMore(data: DataSet): Promise<void> {
  const eventId = data.events.E2.id;
  await sql.begin(async (tx) => {
    const [seat] = await tx`update seats set status = 'BOOKED' where event_id = ${eventId} and seat_number = 5
      returning id`;
    await tx`insert into bookings (user_id, event_id, seat_id, seat_number, status)
      values (${data.users.erin.id}, ${eventId}, ${seat!.id}, 5, 'BOOKED')`;
  });
}

/** The UTC date `offset` days from `today` (YYYY-MM-DD). */
export function dayFrom(today: string, offset: number): string {
  const d = new Date(`${today}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + offset);
  return d.toISOString().slice(0, 10);
}
