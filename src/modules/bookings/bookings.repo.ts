import type { JSONValue } from "postgres";
import type { bookings, events } from "../../db/schema";
import type { OutboxRow } from "../../messaging/outbox";
import type { Executor } from "../../platform/db";
import type { BookingDto } from "./bookings.schemas";

type EventTableRow = typeof events.$inferSelect;
type BookingTableRow = typeof bookings.$inferSelect;

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

/** What cancel_booking (migrations/0010_cancel_booking.sql) answers: the cancelled booking, or why not. */
export type CancelOutcome =
  | {
      code: "OK";
      /** As the API answers it (BookingSchema), timestamps in ISO 8601 with milliseconds. */
      booking: BookingDto;
      seat_id: number;
      /** The seat's seats.version after the cancel (migrations/0006). */
      version: number;
    }
  | { code: "BOOKING_NOT_FOUND" | "BOOKING_ALREADY_CANCELLED" | "EVENT_STARTED" };

/**
 * The whole cancel in one statement (locks, checks, writes; the function's comment gives the
 * order). `announce` are the outbox rows it writes on success, filled in by the function; with
 * `handOver` it writes none: the caller hands the seat to the waitlist in its transaction and
 * writes them itself.
 */
export async function cancelBooking(
  ex: Executor,
  bookingId: number,
  actor: { id: number; isAdmin: boolean },
  handOver: boolean,
  announce: { cancelled: OutboxRow; released: OutboxRow },
): Promise<CancelOutcome> {
  const [row] = await ex<{ outcome: CancelOutcome }[]>`
    select cancel_booking(${bookingId}, ${actor.id}, ${actor.isAdmin}, ${handOver},
      ${announce.cancelled.stream}, ${ex.json(announce.cancelled.payload as JSONValue)},
      ${announce.released.stream}, ${ex.json(announce.released.payload as JSONValue)}) as outcome`;
  if (!row) throw new Error("cancel_booking returned no row");
  return row.outcome;
}
