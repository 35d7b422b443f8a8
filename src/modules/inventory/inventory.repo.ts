import type { seats, users } from "../../db/schema";
import type { Executor, Tx } from "../../platform/db";

/**
 * The seat state machine's SQL: AVAILABLE -> HELD -> BOOKED and back. Every function runs in the
 * caller's transaction. Lock order, everywhere: the (user, event) advisory lock, then seat rows in
 * ascending seat number; every state check happens after those locks.
 */

type SeatRow = typeof seats.$inferSelect;
type UserRow = typeof users.$inferSelect;

/**
 * Serialises one user's bookings for one event, so the per-user seat limit is checked against
 * committed data. Always taken before any seat lock: user lock, then seats in ascending order.
 */
export async function lockUserForEvent(tx: Tx, userId: number, eventId: number): Promise<void> {
  await tx`select pg_advisory_xact_lock(${userId % 2_147_483_647}::int4, ${eventId % 2_147_483_647}::int4)`;
}

export type OfferSeat = Pick<SeatRow, "status" | "seatNumber"> & { eventName: string; gone: boolean };

/** Locks the freed seat (after the user's lock, as booking does) and reads its event's state. */
export async function lockSeatForOffer(tx: Tx, seatId: number): Promise<OfferSeat | undefined> {
  const [row] = await tx<OfferSeat[]>`
    select s.status, s.seat_number, e.name as event_name,
           (e.deleted_at is not null or e.start_time <= now()) as gone
    from seats s join events e on e.id = s.event_id
    where s.id = ${seatId}
    for update of s`;
  return row;
}

/** True when the user already has a seat in the event, booked or offered: they need no offer. */
export async function userHasSeatInEvent(tx: Tx, userId: number, eventId: number): Promise<boolean> {
  const [row] = await tx<{ has: boolean }[]>`
    select exists (select 1 from bookings where user_id = ${userId} and event_id = ${eventId} and status = 'BOOKED')
        or exists (select 1 from seats where event_id = ${eventId} and status = 'HELD' and held_by = ${userId}) as has`;
  return row?.has ?? false;
}

/** A hold just made: until when, and whom to tell. */
export type SeatHold = { holdExpiresAt: Date } & Pick<UserRow, "email">;

export async function holdSeatFor(tx: Tx, seatId: number, userId: number, ttlSeconds: number): Promise<SeatHold> {
  const [row] = await tx<SeatHold[]>`
    with held as (
      update seats set status = 'HELD', held_by = ${userId},
             hold_expires_at = now() + make_interval(secs => ${ttlSeconds})
      where id = ${seatId}
      returning hold_expires_at)
    select held.hold_expires_at, u.email from held, users u where u.id = ${userId}`;
  if (!row) throw new Error("hold update returned nothing");
  return row;
}

/**
 * A waitlist offer's or old hold's time is up, as found without any lock (the janitor's to-do list).
 * Checkout holds (seats.hold_id set) expire through the holds module, seats of a waitlist offer
 * (offer_id set) end with their offer (waitlist.offers.ts), not here.
 */
export type DueHold = Pick<SeatRow, "eventId" | "seatNumber"> & { seatId: number; heldBy: number };

export async function dueExpiredHolds(ex: Executor, limit: number): Promise<DueHold[]> {
  const rows = await ex<DueHold[]>`
    select id as seat_id, event_id, seat_number, held_by from seats
    where status = 'HELD' and hold_expires_at < now() and hold_id is null and offer_id is null
    order by hold_expires_at
    limit ${limit}`;
  return [...rows];
}

export type ExpiredHold = DueHold & Pick<UserRow, "email"> & { expiredAt: Date };

/**
 * Frees the seat if it is still held by `heldBy` and the hold is over (locks the seat row; the
 * caller holds the user locks it needs first). Undefined when it was booked, handed over or
 * extended meanwhile. Returns the old hold's end, which names this expiry in notifications.
 */
export async function releaseExpiredHold(tx: Tx, seatId: number, heldBy: number): Promise<ExpiredHold | undefined> {
  const [row] = await tx<ExpiredHold[]>`
    with old as (
      select id, event_id, seat_number, held_by, hold_expires_at from seats
      where id = ${seatId} and status = 'HELD' and held_by = ${heldBy} and hold_expires_at < now()
        and hold_id is null and offer_id is null
      for update),
    freed as (
      update seats s set status = 'AVAILABLE', held_by = null, hold_expires_at = null
      from old where s.id = old.id
      returning old.id as seat_id, old.event_id, old.seat_number, old.held_by, old.hold_expires_at as expired_at)
    select freed.*, u.email from freed join users u on u.id = freed.held_by`;
  return row;
}

/** What book_seats (migrations/0009_hot_path.sql; first in 0003, holds in 0004) answers: bookings, or why not. */
export type BookingOutcome =
  | {
      code: "OK";
      /** version: the seat's seats.version after the booking (migrations/0006). */
      bookings: { booking_id: number; seat_number: number; created_at: string; version: number }[];
      event_name: string;
      venue: string | null;
      accepted_offers: number;
    }
  | { code: "EVENT_NOT_FOUND" | "EVENT_STARTED" }
  | { code: "SEAT_NOT_FOUND" | "SEAT_ALREADY_BOOKED" | "SEAT_HELD" | "HOLD_EXPIRED"; seats: number[] }
  | { code: "NOT_ENOUGH_SEATS"; free: number; wanted: number }
  | { code: "USER_SEAT_LIMIT"; booked: number; max: number };

/**
 * The whole booking transaction in one statement (one round trip, a prepared statement): locks,
 * checks and writes in the order the function's comment gives. Named seats, or `quantity` best
 * available. Atomic on its own, or inside the caller's transaction (an Idempotency-Key's).
 */
export async function bookSeats(
  ex: Executor,
  userId: number,
  eventId: number,
  request: { seatNumbers: number[] } | { quantity: number },
  maxPerUser: number,
): Promise<BookingOutcome> {
  const seatNumbers = "seatNumbers" in request ? request.seatNumbers : null;
  const quantity = "quantity" in request ? request.quantity : null;
  const [row] = await ex<{ outcome: BookingOutcome }[]>`
    select book_seats(${userId}, ${eventId}, ${seatNumbers}::int[], ${quantity}::int, ${maxPerUser}) as outcome`;
  if (!row) throw new Error("book_seats returned no row");
  return row.outcome;
}

/** A seat's state as live subscribers see it (docs/live.md). */
export type LiveSeatState = Pick<SeatRow, "eventId" | "seatNumber" | "status" | "version">;

/**
 * The current state of some seats, read after COMMIT by paths whose SQL does not return the new
 * version: what is published is PostgreSQL's state with its version, so a reader that is late
 * publishes something newer, never something older.
 */
export async function liveSeatStates(ex: Executor, seatIds: number[]): Promise<LiveSeatState[]> {
  if (seatIds.length === 0) return [];
  const rows = await ex<LiveSeatState[]>`
    select event_id, seat_number, status, version from seats where id = any(${seatIds}::bigint[])`;
  return [...rows];
}
