import type { events, seats, users } from "../../db/schema";
import type { Executor, Tx } from "../../platform/db";

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

export type ExpiredHold = Pick<SeatRow, "eventId" | "seatNumber"> &
  Pick<UserRow, "email"> & {
    seatId: number;
    userId: number;
  };

/**
 * Frees holds whose offer time has passed, a batch at a time. SKIP LOCKED lets any number of
 * janitors run side by side, and never waits on a seat a booking is busy with.
 */
export async function releaseExpiredHolds(tx: Tx, limit: number): Promise<ExpiredHold[]> {
  const rows = await tx<ExpiredHold[]>`
    with expired as (
      select id, event_id, seat_number, held_by from seats
      where status = 'HELD' and hold_expires_at < now()
      order by hold_expires_at
      limit ${limit}
      for update skip locked),
    freed as (
      update seats s set status = 'AVAILABLE', held_by = null, hold_expires_at = null
      from expired where s.id = expired.id
      returning expired.id as seat_id, expired.event_id, expired.seat_number, expired.held_by as user_id)
    select freed.*, u.email from freed join users u on u.id = freed.user_id`;
  return [...rows];
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
