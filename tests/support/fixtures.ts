import { sql } from "../../src/platform/db";
import { clientAs, type EventDto, expectData } from "./http";

let seq = 0;

/** Creates an event through the API (as an admin, at the seed's `POST /events/`) and returns it. */
export async function createEvent(
  adminToken: string,
  overrides: Partial<{
    name: string;
    venue: string | null;
    capacity: number;
    start_time: string;
    end_time: string;
    waitlist_policy: "strict" | "first_fit";
  }> = {},
): Promise<EventDto> {
  const body = {
    name: `Event ${Date.now()}-${++seq}`,
    venue: "Main Hall",
    start_time: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    capacity: 10,
    ...overrides,
  };
  return expectData(await clientAs(adminToken).POST("/api/v1/events/", { body }), "create event");
}

/** Moves an event's start into the past (there is no API for time travel). */
export async function startEvent(eventId: number): Promise<void> {
  await sql`update events set start_time = now() - interval '1 minute', end_time = null where id = ${eventId}`;
}

export interface SeatInvariantReport {
  capacity: number;
  seatRows: number;
  available: number;
  held: number;
  booked: number;
  bookedBookings: number;
  seatsBookedTwice: number;
  bookedSeatsWithoutOneBooking: number;
}

/** Reads, straight from PostgreSQL, everything the "never oversell" invariants talk about. */
export async function seatInvariants(eventId: number): Promise<SeatInvariantReport> {
  const [row] = await sql<SeatInvariantReport[]>`
    select e.capacity,
      (select count(*) from seats where event_id = e.id)::int as seat_rows,
      (select count(*) from seats where event_id = e.id and status = 'AVAILABLE')::int as available,
      (select count(*) from seats where event_id = e.id and status = 'HELD')::int as held,
      (select count(*) from seats where event_id = e.id and status = 'BOOKED')::int as booked,
      (select count(*) from bookings where event_id = e.id and status = 'BOOKED')::int as booked_bookings,
      (select count(*) from (select seat_id from bookings where event_id = e.id and status = 'BOOKED'
                             group by seat_id having count(*) > 1) d)::int as seats_booked_twice,
      (select count(*) from seats s where s.event_id = e.id and s.status = 'BOOKED'
         and (select count(*) from bookings b where b.seat_id = s.id and b.status = 'BOOKED') <> 1)::int
         as booked_seats_without_one_booking
    from events e where e.id = ${eventId}`;
  if (!row) throw new Error(`event ${eventId} not found`);
  return row;
}
