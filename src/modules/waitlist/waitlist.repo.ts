import type { events, seats, users } from "../../db/schema";
import type { Executor } from "../../platform/db";

type SeatRow = typeof seats.$inferSelect;
type UserRow = typeof users.$inferSelect;

export type WaitlistEventState = Pick<typeof events.$inferSelect, "startTime"> & {
  started: boolean;
  hasAvailable: boolean;
  userHasBooking: boolean;
};

/** What joining depends on: the event (live), its free seats, and the caller's bookings in it. */
export async function readWaitlistEventState(
  ex: Executor,
  eventId: number,
  userId: number,
): Promise<WaitlistEventState | undefined> {
  const [row] = await ex<WaitlistEventState[]>`
    select e.start_time, e.start_time <= now() as started,
      exists (select 1 from seats s where s.event_id = e.id and s.status = 'AVAILABLE') as has_available,
      exists (select 1 from bookings b where b.event_id = e.id and b.user_id = ${userId} and b.status = 'BOOKED')
        as user_has_booking
    from events e where e.id = ${eventId} and e.deleted_at is null`;
  return row;
}

export async function lowestAvailableSeatId(ex: Executor, eventId: number): Promise<number | undefined> {
  const [row] = await ex<Pick<SeatRow, "id">[]>`
    select id from seats where event_id = ${eventId} and status = 'AVAILABLE' order by seat_number limit 1`;
  return row?.id;
}

/** Events that started recently: their waitlists are dropped (keys also expire at the start). */
export async function recentlyStartedEventIds(ex: Executor): Promise<number[]> {
  const rows = await ex<Pick<typeof events.$inferSelect, "id">[]>`
    select id from events where start_time <= now() and start_time > now() - interval '1 day'`;
  return rows.map((r) => r.id);
}

export async function emailsOf(ex: Executor, userIds: number[]): Promise<Map<number, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await ex<Pick<UserRow, "id" | "email">[]>`
    select id, email from users where id = any(${userIds}::bigint[])`;
  return new Map(rows.map((r) => [r.id, r.email]));
}
