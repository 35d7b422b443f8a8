import type { JSONValue } from "postgres";
import type { bookings, events, holds, seats } from "../../db/schema";
import type { OutboxRow } from "../../messaging/outbox";
import type { Executor, Tx } from "../../platform/db";

type HoldTableRow = typeof holds.$inferSelect;
type SeatTableRow = typeof seats.$inferSelect;
type BookingTableRow = typeof bookings.$inferSelect;
type EventTableRow = typeof events.$inferSelect;

/**
 * The SQL of checkout holds (docs/holds.md). Every function runs in the caller's transaction;
 * the service takes the locks in the one order: the hold owner's (user, event) advisory lock
 * (and any other users' in ascending id), then the hold row, then the seats in ascending seat
 * number. Every state check happens after those locks.
 */

export type HoldRow = HoldTableRow & { live: boolean };

const holdColumns = (ex: Executor) => ex`
  id, token, user_id, event_id, seat_numbers, status, extensions, created_at, expires_at, ended_at,
  (status = 'ACTIVE' and expires_at > clock_timestamp()) as live`;

export async function findHoldByToken(ex: Executor, token: string): Promise<HoldRow | undefined> {
  const [row] = await ex<HoldRow[]>`select ${holdColumns(ex)} from holds where token = ${token}`;
  return row;
}

/** Locks the hold row (after its owner's user lock) and reads it as it is now. */
export async function lockHold(tx: Tx, id: number): Promise<HoldRow | undefined> {
  const [row] = await tx<HoldRow[]>`select ${holdColumns(tx)} from holds where id = ${id} for update`;
  return row;
}

export type EventState = { started: boolean; deleted: boolean };

/** What create_hold (migrations/0004_holds.sql) answers: the new hold, or why not. */
export type CreateOutcome =
  | { code: "OK"; hold_id: number; seats: number[]; created_at_ms: number; expires_at_ms: number }
  | { code: "EVENT_NOT_FOUND" | "EVENT_STARTED" }
  | { code: "HOLD_LIMIT"; max: number }
  | { code: "USER_SEAT_LIMIT"; booked: number; max: number }
  | { code: "SEAT_NOT_FOUND" | "SEAT_ALREADY_BOOKED" | "SEAT_HELD"; seats: number[] }
  | { code: "BLOCK_TAKEN"; seats: number[] }
  | { code: "NOT_ENOUGH_SEATS"; free: number; wanted: number };

/**
 * The whole creation in one statement: the user's lock, the event and the limits, the seats
 * (`seatNumbers` named, or as a `block` of adjacent ones, or `quantity` best available), then the
 * hold, and `announce` in the outbox with the hold's id, seats and end filled into its data.
 */
export async function createHold(
  ex: Executor,
  hold: { userId: number; eventId: number; token: string },
  seats: { seatNumbers: number[]; block: boolean } | { quantity: number },
  limits: { ttlSeconds: number; maxPerUser: number; maxHolds: number },
  announce: OutboxRow,
): Promise<CreateOutcome> {
  const numbers = "seatNumbers" in seats ? seats.seatNumbers : null;
  const quantity = "quantity" in seats ? seats.quantity : null;
  const block = "block" in seats && seats.block;
  const [row] = await ex<{ outcome: CreateOutcome }[]>`
    select create_hold(${hold.userId}, ${hold.eventId}, ${numbers}::int[], ${quantity}::int, ${block},
                       ${hold.token}, ${limits.ttlSeconds}, ${limits.maxPerUser}, ${limits.maxHolds},
                       ${announce.stream}, ${ex.json(announce.payload as JSONValue)}) as outcome`;
  if (!row) throw new Error("create_hold returned no row");
  return row.outcome;
}

/** The event's AVAILABLE seats, ascending, unlocked: what `together` chooses from. */
export async function availableSeats(
  ex: Executor,
  eventId: number,
): Promise<Pick<SeatTableRow, "id" | "seatNumber">[]> {
  const rows = await ex<Pick<SeatTableRow, "id" | "seatNumber">[]>`
    select id, seat_number from seats where event_id = ${eventId} and status = 'AVAILABLE' order by seat_number`;
  return [...rows];
}

/** The hold's seats, locked in ascending seat number. */
export async function lockHoldSeats(tx: Tx, holdId: number): Promise<Pick<SeatTableRow, "id" | "seatNumber">[]> {
  const rows = await tx<Pick<SeatTableRow, "id" | "seatNumber">[]>`
    select id, seat_number from seats where hold_id = ${holdId} order by seat_number for update`;
  return [...rows];
}

export async function setHoldExpiry(tx: Tx, holdId: number, expiresAt: Date): Promise<HoldRow> {
  await tx`update seats set hold_expires_at = ${expiresAt} where hold_id = ${holdId}`;
  const [row] = await tx<HoldRow[]>`
    update holds set expires_at = ${expiresAt}, extensions = extensions + 1 where id = ${holdId}
    returning ${holdColumns(tx)}`;
  if (!row) throw new Error("hold vanished under its lock");
  return row;
}

/**
 * Ends the hold: its seats, locked in ascending seat number, become AVAILABLE and leave it, and
 * the hold gets `status`. Returns the freed seats, ascending.
 */
export async function endHoldFreeingSeats(
  tx: Tx,
  holdId: number,
  status: "RELEASED" | "EXPIRED",
): Promise<Pick<SeatTableRow, "id" | "seatNumber">[]> {
  const rows = await tx<Pick<SeatTableRow, "id" | "seatNumber">[]>`
    with locked as (
      select id, seat_number from seats where hold_id = ${holdId} order by seat_number for update),
    freed as (
      update seats s set status = 'AVAILABLE', held_by = null, hold_expires_at = null, hold_id = null
      from locked where s.id = locked.id
      returning s.id, s.seat_number),
    ended as (
      update holds set status = ${status}, ended_at = clock_timestamp() where id = ${holdId} returning id)
    select freed.id, freed.seat_number from freed, ended order by freed.seat_number`;
  return [...rows];
}

/** The (user, event) advisory locks of several users, ascending, in one round trip. */
export async function lockUsersForEvent(tx: Tx, userIds: number[], eventId: number): Promise<void> {
  await tx`select lock_users_for_event(${userIds}::bigint[], ${eventId})`;
}

/** Holds whose time is up, as found without any lock (the janitor's to-do list). */
export type DueHold = Pick<HoldTableRow, "id" | "userId" | "eventId">;

export async function dueExpiredHolds(ex: Executor, limit: number): Promise<DueHold[]> {
  const rows = await ex<DueHold[]>`
    select id, user_id, event_id from holds
    where status = 'ACTIVE' and expires_at <= now()
    order by expires_at limit ${limit}`;
  return [...rows];
}

/** A booking as the bookings module shows it (its shape: bookings.schemas toBookingDto). */
export type HoldBookingRow = Pick<
  BookingTableRow,
  "eventId" | "userId" | "seatId" | "seatNumber" | "status" | "createdAt" | "cancelledAt"
> &
  Pick<EventTableRow, "venue"> & { bookingId: number; eventName: string; eventStarted: boolean };

type ConfirmedBooking = {
  booking_id: number;
  user_id: number;
  seat_number: number;
  status: BookingTableRow["status"];
  venue: string | null;
  event_name: string;
  created_at: string;
  cancelled_at: string | null;
  event_started: boolean;
};

/** What confirm_hold (migrations/0004_holds.sql) answers: the hold's bookings, or why not. */
export type ConfirmOutcome =
  | { code: "OK"; fresh: boolean; eventId: number; seats: number[]; bookings: HoldBookingRow[] }
  | { code: "HOLD_NOT_FOUND" | "HOLD_NOT_ACTIVE" | "EVENT_NOT_FOUND" | "EVENT_STARTED" }
  | { code: "HOLD_EXPIRED"; expires_at?: string }
  | { code: "USER_SEAT_LIMIT"; booked: number; max: number }
  | { code: "SEAT_NOT_FOUND" | "SEAT_ALREADY_BOOKED" | "SEAT_HELD" | "NOT_ENOUGH_SEATS" };

type RawConfirm =
  | { code: "OK"; fresh: boolean; event_id: number; seats: number[]; bookings: ConfirmedBooking[] }
  | Exclude<ConfirmOutcome, { code: "OK" }>;

/**
 * The whole confirm in one statement: the owner's lock, the hold row, its seats through
 * book_seats. `actor` sees only their own holds unless `admin`.
 */
export async function confirmHold(
  ex: Executor,
  token: string,
  actor: { id: number; isAdmin: boolean },
  maxPerUser: number,
): Promise<ConfirmOutcome> {
  const [row] = await ex<{ outcome: RawConfirm }[]>`
    select confirm_hold(${token}, ${actor.id}, ${actor.isAdmin}, ${maxPerUser}) as outcome`;
  if (!row) throw new Error("confirm_hold returned no row");
  const o = row.outcome;
  if (o.code !== "OK") return o;
  return {
    code: "OK",
    fresh: o.fresh,
    eventId: o.event_id,
    seats: o.seats,
    bookings: o.bookings.map((b) => ({
      bookingId: b.booking_id,
      eventId: o.event_id,
      userId: b.user_id,
      seatId: null,
      seatNumber: b.seat_number,
      status: b.status,
      venue: b.venue,
      eventName: b.event_name,
      createdAt: new Date(b.created_at),
      cancelledAt: b.cancelled_at === null ? null : new Date(b.cancelled_at),
      eventStarted: b.event_started,
    })),
  };
}

export async function countHoldSeats(ex: Executor, holdId: number): Promise<number> {
  const [row] = await ex<{ n: number }[]>`select count(*)::int as n from seats where hold_id = ${holdId}`;
  return row?.n ?? 0;
}
