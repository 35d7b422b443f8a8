import type { bookings, events, seats } from "../../db/schema";
import type { Executor, Tx } from "../../platform/db";

type EventTableRow = typeof events.$inferSelect;
type BookingTableRow = typeof bookings.$inferSelect;

export type LockedSeat = Pick<typeof seats.$inferSelect, "id" | "seatNumber" | "status" | "heldBy"> & {
  holdExpired: boolean | null;
};

export type EventState = Pick<EventTableRow, "name" | "venue"> & {
  started: boolean;
  deleted: boolean;
  userBooked: number;
};

/** A booking as the API shows it: the booking's columns, its event's name and venue. */
export type BookingRow = Pick<
  BookingTableRow,
  "eventId" | "userId" | "seatId" | "seatNumber" | "status" | "createdAt" | "cancelledAt"
> &
  Pick<EventTableRow, "venue"> & {
    bookingId: number;
    eventName: string;
    eventStarted: boolean;
  };

/** What booking a seat returns: the rest of the BookingRow is known to the caller. */
export type NewBooking = Pick<BookingTableRow, "seatNumber" | "createdAt"> & { bookingId: number };

/**
 * Serialises one user's bookings for one event, so the per-user seat limit is checked against
 * committed data. Always taken before any seat lock: user lock, then seats in ascending order.
 */
export async function lockUserForEvent(tx: Tx, userId: number, eventId: number): Promise<void> {
  await tx`select pg_advisory_xact_lock(${userId % 2_147_483_647}::int4, ${eventId % 2_147_483_647}::int4)`;
}

/** The event's state and how many seats this user already holds in it. */
export async function readEventState(tx: Tx, eventId: number, userId: number): Promise<EventState | undefined> {
  const [row] = await tx<EventState[]>`
    select e.name, e.venue, e.start_time <= now() as started, e.deleted_at is not null as deleted,
           (select count(*) from bookings b
             where b.user_id = ${userId} and b.event_id = ${eventId} and b.status = 'BOOKED')::int as user_booked
    from events e where e.id = ${eventId}`;
  return row;
}

/**
 * The user's (user, event) advisory lock, taken in the same statement as the seat locks that
 * follow it (one round trip less). It is acquired while the join produces rows, before LockRows
 * (the top of the plan) locks any seat, so the lock order "user, then seats" holds. Snapshot
 * note: seat rows locked FOR UPDATE are re-read at their newest version; anything that must
 * reflect the user's other bookings is read by a later statement (readEventState).
 */
const userLock = (tx: Tx, userId: number, eventId: number) =>
  tx`(select pg_advisory_xact_lock(${userId % 2_147_483_647}::int4, ${eventId % 2_147_483_647}::int4)) as user_lock`;

/** The user's lock, then the named seats in ascending seat order (the planner walks the unique index). */
export async function lockSeatsByNumber(
  tx: Tx,
  userId: number,
  eventId: number,
  seatNumbers: number[],
): Promise<LockedSeat[]> {
  const rows = await tx<LockedSeat[]>`
    select s.id, s.seat_number, s.status, s.held_by, s.hold_expires_at < now() as hold_expired
    from ${userLock(tx, userId, eventId)}, seats s
    where s.event_id = ${eventId} and s.seat_number = any(${seatNumbers}::int[])
    order by s.seat_number
    for update of s`;
  return [...rows];
}

/** The user's lock, then the lowest free seats nobody else is locking now (no queueing on hot rows). */
export async function lockBestAvailable(
  tx: Tx,
  userId: number,
  eventId: number,
  quantity: number,
): Promise<LockedSeat[]> {
  const rows = await tx<LockedSeat[]>`
    select s.id, s.seat_number, s.status, s.held_by, false as hold_expired
    from ${userLock(tx, userId, eventId)}, seats s
    where s.event_id = ${eventId} and s.status = 'AVAILABLE'
    order by s.seat_number
    limit ${quantity}
    for update of s skip locked`;
  return [...rows];
}

/** Marks the locked seats BOOKED and inserts their bookings in one statement. */
export async function bookLockedSeats(
  tx: Tx,
  userId: number,
  eventId: number,
  seats: LockedSeat[],
): Promise<NewBooking[]> {
  const rows = await tx<NewBooking[]>`
    with marked as (
      update seats set status = 'BOOKED', held_by = null, hold_expires_at = null
      where id = any(${seats.map((s) => s.id)}::bigint[])
      returning id, seat_number)
    insert into bookings (user_id, event_id, seat_id, seat_number, status)
    select ${userId}, ${eventId}, id, seat_number, 'BOOKED' from marked order by seat_number
    returning id as booking_id, seat_number, created_at`;
  return [...rows];
}

const bookingSelect = (ex: Executor) => ex`
  select b.id as booking_id, b.event_id, b.user_id, b.seat_id, b.seat_number, b.status,
         e.venue, e.name as event_name, b.created_at, b.cancelled_at,
         e.start_time <= now() as event_started
  from bookings b join events e on e.id = b.event_id`;

export async function findBooking(ex: Executor, id: number): Promise<BookingRow | undefined> {
  const [row] = await ex<BookingRow[]>`${bookingSelect(ex)} where b.id = ${id}`;
  return row;
}

export async function listUserBookings(
  ex: Executor,
  userId: number,
  limit: number,
  offset: number,
): Promise<{ rows: BookingRow[]; total: number }> {
  const [rows, [total]] = await Promise.all([
    ex<BookingRow[]>`${bookingSelect(ex)} where b.user_id = ${userId}
      order by b.created_at desc, b.id desc limit ${limit} offset ${offset}`,
    ex<{ n: number }[]>`select count(*)::int as n from bookings where user_id = ${userId}`,
  ]);
  return { rows: [...rows], total: total?.n ?? 0 };
}

export async function lockSeatById(tx: Tx, seatId: number): Promise<void> {
  await tx`select id from seats where id = ${seatId} for update`;
}

/** Cancels a BOOKED booking and frees its (already locked) seat; undefined if it was not BOOKED. */
export async function cancelBookedBooking(tx: Tx, bookingId: number): Promise<BookingRow | undefined> {
  const [cancelled] = await tx<Pick<BookingTableRow, "seatId">[]>`
    update bookings set status = 'CANCELLED', cancelled_at = now()
    where id = ${bookingId} and status = 'BOOKED'
    returning seat_id`;
  if (!cancelled) return undefined;
  await tx`
    update seats set status = 'AVAILABLE', held_by = null, hold_expires_at = null where id = ${cancelled.seatId}`;
  return findBooking(tx, bookingId);
}
