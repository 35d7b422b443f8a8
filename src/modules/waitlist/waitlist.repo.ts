import type { events, seats, users } from "../../db/schema";
import type { Executor } from "../../platform/db";

type SeatRow = typeof seats.$inferSelect;
type UserRow = typeof users.$inferSelect;

export type WaitlistEventState = Pick<typeof events.$inferSelect, "startTime"> & {
  started: boolean;
  available: number;
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
      (select count(*) from (select 1 from seats s where s.event_id = e.id and s.status = 'AVAILABLE' limit 1000) a)::int
        as available,
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

/** Which of these events have started or been deleted (or never existed): their lines are over. */
export async function endedEventIdsAmong(ex: Executor, ids: number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await ex<Pick<typeof events.$inferSelect, "id">[]>`
    select id from unnest(${ids}::bigint[]) as wanted(id)
    where not exists (select 1 from events e where e.id = wanted.id and e.deleted_at is null and e.start_time > now())`;
  return rows.map((r) => Number(r.id));
}

export async function emailsOf(ex: Executor, userIds: number[]): Promise<Map<number, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await ex<Pick<UserRow, "id" | "email">[]>`
    select id, email from users where id = any(${userIds}::bigint[])`;
  return new Map(rows.map((r) => [r.id, r.email]));
}
