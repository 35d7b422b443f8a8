import type { bookings, events } from "../../db/schema";
import type { Executor, Tx } from "../../platform/db";

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
