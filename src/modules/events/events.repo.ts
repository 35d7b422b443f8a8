import type { bookings, events, seats, users } from "../../db/schema";
import type { Executor } from "../../platform/db";
import type { EventCreate, EventListFilters, EventUpdate } from "./events.schemas";

export type EventRow = typeof events.$inferSelect;
type SeatRow = typeof seats.$inferSelect;
type BookingTableRow = typeof bookings.$inferSelect;

/** A booking lost when its event was deleted, and whom to tell. */
export type CancelledBooking = Pick<BookingTableRow, "userId" | "seatNumber"> &
  Pick<typeof users.$inferSelect, "email">;

/** One BOOKED booking in an event's booking list. */
export type EventBookingRow = Pick<BookingTableRow, "userId" | "seatNumber" | "createdAt"> & {
  bookingId: number;
  userEmail: string;
};

export interface SeatCounts {
  available: number;
  booked: number;
  held: number;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Creates the event and its seats 1..capacity: two statements, the seats in one set-based INSERT. */
export async function insertEventWithSeats(tx: Executor, input: EventCreate, createdBy: number): Promise<EventRow> {
  const values = {
    name: input.name,
    venue: input.venue ?? null,
    description: input.description ?? null,
    startTime: input.start_time,
    endTime: input.end_time ?? null,
    capacity: input.capacity,
    waitlistPolicy: input.waitlist_policy,
    createdBy,
  };
  const [row] = await tx<EventRow[]>`insert into events ${tx(values)} returning *`;
  if (!row) throw new Error("insert returned no event");
  await insertSeatRange(tx, row.id, 1, input.capacity);
  return row;
}

export async function insertSeatRange(tx: Executor, eventId: number, from: number, to: number): Promise<void> {
  await tx`
    insert into seats (event_id, seat_number)
    select ${eventId}, n from generate_series(${from}::int, ${to}::int) as n`;
}

/** Up to `limit` seats from seat number `from` upwards, in seat order. */
export async function seatsFrom(
  tx: Executor,
  eventId: number,
  from: number,
  limit: number,
): Promise<Pick<SeatRow, "id" | "seatNumber">[]> {
  if (limit <= 0) return [];
  return tx<Pick<SeatRow, "id" | "seatNumber">[]>`
    select id, seat_number from seats where event_id = ${eventId} and seat_number >= ${from}
    order by seat_number limit ${limit}`;
}

export async function findLiveEvent(ex: Executor, id: number): Promise<EventRow | undefined> {
  const [row] = await ex<EventRow[]>`select * from events where id = ${id} and deleted_at is null limit 1`;
  return row;
}

/**
 * Locks the event row so admin changes to one event run one at a time. FOR NO KEY UPDATE, not
 * FOR UPDATE: a booking's INSERT takes FOR KEY SHARE on the event (its foreign key) while holding
 * a seat lock, and FOR UPDATE would block it while we wait for that seat: a deadlock.
 */
export async function lockLiveEvent(tx: Executor, id: number): Promise<EventRow | undefined> {
  const [row] = await tx<EventRow[]>`select * from events where id = ${id} and deleted_at is null for no key update`;
  return row;
}

export async function countSeats(ex: Executor, eventId: number): Promise<SeatCounts> {
  const [row] = await ex<SeatCounts[]>`
    select count(*) filter (where status = 'AVAILABLE')::int as available,
           count(*) filter (where status = 'BOOKED')::int as booked,
           count(*) filter (where status = 'HELD')::int as held
    from seats where event_id = ${eventId}`;
  return row ?? { available: 0, booked: 0, held: 0 };
}

export async function listLiveEvents(ex: Executor, f: EventListFilters): Promise<{ rows: EventRow[]; total: number }> {
  const where = ex`
    where deleted_at is null
    ${f.name ? ex`and name ilike ${`%${escapeLike(f.name)}%`}` : ex``}
    ${f.venue ? ex`and venue ilike ${`%${escapeLike(f.venue)}%`}` : ex``}
    ${f.from_date ? ex`and start_time >= ${f.from_date}` : ex``}
    ${f.to_date ? ex`and start_time <= ${f.to_date}` : ex``}`;
  const [rows, [totals]] = await Promise.all([
    ex<EventRow[]>`select * from events ${where} order by start_time, id limit ${f.limit} offset ${f.offset}`,
    ex<{ total: number }[]>`select count(*)::int as total from events ${where}`,
  ]);
  return { rows: [...rows], total: totals?.total ?? 0 };
}

export async function updateEventRow(tx: Executor, id: number, changes: EventUpdate): Promise<EventRow> {
  const values = {
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.venue !== undefined && { venue: changes.venue }),
    ...(changes.description !== undefined && { description: changes.description }),
    ...(changes.start_time !== undefined && { startTime: changes.start_time }),
    ...(changes.end_time !== undefined && { endTime: changes.end_time }),
    ...(changes.capacity !== undefined && { capacity: changes.capacity }),
    ...(changes.waitlist_policy !== undefined && { waitlistPolicy: changes.waitlist_policy }),
    updatedAt: new Date(),
  };
  const [row] = await tx<EventRow[]>`update events set ${tx(values)} where id = ${id} returning *`;
  if (!row) throw new Error("event vanished under its lock");
  return row;
}

/**
 * Locks the seats above `capacity` (ascending, like every seat lock) and deletes them if all are
 * AVAILABLE. Returns the seat numbers that are not, in which case nothing is deleted.
 */
export async function removeSeatsAbove(tx: Executor, eventId: number, capacity: number): Promise<number[]> {
  const locked = await tx<Pick<SeatRow, "seatNumber" | "status">[]>`
    select seat_number, status from seats
    where event_id = ${eventId} and seat_number > ${capacity}
    order by seat_number for update`;
  const busy = locked.filter((s) => s.status !== "AVAILABLE").map((s) => s.seatNumber);
  if (busy.length === 0) await tx`delete from seats where event_id = ${eventId} and seat_number > ${capacity}`;
  return busy;
}

/**
 * Soft-deletes an event: locks all its seats in ascending order (so it serialises with bookings,
 * which lock seats too), cancels its BOOKED bookings, frees the seats. Returns who lost a seat.
 */
export async function softDeleteEvent(tx: Executor, eventId: number): Promise<CancelledBooking[]> {
  // Checkout holds before seats, as every change of a hold does (docs/holds.md).
  await tx`select id from holds where event_id = ${eventId} and status = 'ACTIVE' order by id for update`;
  await tx`select id from seats where event_id = ${eventId} order by seat_number for update`;
  const cancelled = await tx<CancelledBooking[]>`
    with c as (
      update bookings set status = 'CANCELLED', cancelled_at = now()
      where event_id = ${eventId} and status = 'BOOKED'
      returning user_id, seat_number)
    select c.user_id, u.email, c.seat_number from c join users u on u.id = c.user_id`;
  await tx`
    update seats set status = 'AVAILABLE', held_by = null, hold_expires_at = null, hold_id = null
    where event_id = ${eventId} and status <> 'AVAILABLE'`;
  // Checkout holds end with their event (docs/holds.md).
  await tx`update holds set status = 'RELEASED', ended_at = now() where event_id = ${eventId} and status = 'ACTIVE'`;
  await tx`update events set deleted_at = now(), updated_at = now() where id = ${eventId}`;
  return [...cancelled];
}

/** Upcoming events (soonest first) and the events booked most in the last hour: the warmer's list. */
export async function hotAndUpcomingEventIds(ex: Executor, limit: number): Promise<number[]> {
  const rows = await ex<Pick<EventRow, "id">[]>`
    (select id from events where deleted_at is null and start_time > now() order by start_time limit ${limit})
    union
    (select b.event_id from bookings b join events e on e.id = b.event_id
     where b.created_at > now() - interval '1 hour' and e.deleted_at is null
     group by b.event_id order by count(*) desc limit ${limit})`;
  return rows.map((r) => r.id);
}

/** The seat map as one JSON text built by PostgreSQL (no per-row mapping in JS). */
export async function seatMapJson(
  ex: Executor,
  eventId: number,
  status?: string,
  range?: { from: number; to: number },
): Promise<string | undefined> {
  const [row] = await ex<{ live: boolean | null; seats: string }[]>`
    select (select deleted_at is null from events where id = ${eventId}) as live,
           (select coalesce(json_agg(json_build_object(
                      'id', id, 'event_id', event_id, 'seat_number', seat_number,
                      'status', status, 'extradata', extradata) order by seat_number), '[]'::json)::text
            from seats
            where event_id = ${eventId} ${status ? ex`and status = ${status}::seat_status` : ex``}
              ${range ? ex`and seat_number between ${range.from} and ${range.to}` : ex``}) as seats`;
  return row?.live ? row.seats : undefined;
}

/** Every seat's status as one character, seat_number order; undefined when the event is not live. */
export async function seatStatusString(ex: Executor, eventId: number): Promise<string | undefined> {
  const [row] = await ex<{ live: boolean | null; statuses: string }[]>`
    select (select deleted_at is null from events where id = ${eventId}) as live,
           (select coalesce(string_agg(case status when 'AVAILABLE' then 'A' when 'HELD' then 'H' else 'B' end,
                                       '' order by seat_number), '')
            from seats where event_id = ${eventId}) as statuses`;
  return row?.live ? row.statuses : undefined;
}

export async function listEventBookings(ex: Executor, eventId: number): Promise<EventBookingRow[]> {
  const rows = await ex<EventBookingRow[]>`
    select b.id as booking_id, b.user_id, u.email as user_email, b.seat_number, b.created_at
    from bookings b join users u on u.id = b.user_id
    where b.event_id = ${eventId} and b.status = 'BOOKED'
    order by b.seat_number`;
  return [...rows];
}
