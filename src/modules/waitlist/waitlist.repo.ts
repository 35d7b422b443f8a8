import { sql } from "drizzle-orm";
import { db, type Tx } from "../../platform/db";

export type WaitlistEventState = {
  start_time: Date | string;
  started: boolean;
  has_available: boolean;
  user_has_booking: boolean;
};

/** What joining depends on: the event (live), its free seats, and the caller's bookings in it. */
export async function readWaitlistEventState(eventId: number, userId: number): Promise<WaitlistEventState | undefined> {
  const [row] = await db.execute<WaitlistEventState>(sql`
    select e.start_time, e.start_time <= now() as started,
      exists (select 1 from seats s where s.event_id = e.id and s.status = 'AVAILABLE') as has_available,
      exists (select 1 from bookings b where b.event_id = e.id and b.user_id = ${userId} and b.status = 'BOOKED')
        as user_has_booking
    from events e where e.id = ${eventId} and e.deleted_at is null`);
  return row;
}

export async function lowestAvailableSeatId(eventId: number): Promise<number | undefined> {
  const [row] = await db.execute<{ id: number }>(sql`
    select id from seats where event_id = ${eventId} and status = 'AVAILABLE' order by seat_number limit 1`);
  return row?.id;
}

export type OfferSeat = {
  status: "AVAILABLE" | "HELD" | "BOOKED";
  seat_number: number;
  event_name: string;
  gone: boolean;
};

/** Locks the freed seat (after the user's lock, as booking does) and reads its event's state. */
export async function lockSeatForOffer(tx: Tx, seatId: number): Promise<OfferSeat | undefined> {
  const [row] = await tx.execute<OfferSeat>(sql`
    select s.status, s.seat_number, e.name as event_name,
           (e.deleted_at is not null or e.start_time <= now()) as gone
    from seats s join events e on e.id = s.event_id
    where s.id = ${seatId}
    for update of s`);
  return row;
}

/** True when the user already has a seat in the event, booked or offered: they need no offer. */
export async function userHasSeatInEvent(tx: Tx, userId: number, eventId: number): Promise<boolean> {
  const [row] = await tx.execute<{ has: boolean }>(sql`
    select exists (select 1 from bookings where user_id = ${userId} and event_id = ${eventId} and status = 'BOOKED')
        or exists (select 1 from seats where event_id = ${eventId} and status = 'HELD' and held_by = ${userId}) as has`);
  return row?.has ?? false;
}

export async function holdSeatFor(
  tx: Tx,
  seatId: number,
  userId: number,
  ttlSeconds: number,
): Promise<{ hold_expires_at: Date | string; email: string }> {
  const [row] = await tx.execute<{ hold_expires_at: Date | string; email: string }>(sql`
    with held as (
      update seats set status = 'HELD', held_by = ${userId},
             hold_expires_at = now() + make_interval(secs => ${ttlSeconds})
      where id = ${seatId}
      returning hold_expires_at)
    select held.hold_expires_at, u.email from held, users u where u.id = ${userId}`);
  if (!row) throw new Error("hold update returned nothing");
  return row;
}

export type ExpiredHold = { seat_id: number; event_id: number; seat_number: number; user_id: number; email: string };

/**
 * Frees holds whose offer time has passed, a batch at a time. SKIP LOCKED lets any number of
 * janitors run side by side, and never waits on a seat a booking is busy with.
 */
export async function releaseExpiredHolds(tx: Tx, limit: number): Promise<ExpiredHold[]> {
  const rows = await tx.execute<ExpiredHold>(sql`
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
    select freed.*, u.email from freed join users u on u.id = freed.user_id`);
  return [...rows];
}

/** Which of these events have started or been deleted (or never existed): their lines are over. */
export async function endedEventIdsAmong(ids: number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const rows = await db.execute<{ id: number }>(sql`
    select id from unnest(${`{${ids.join(",")}}`}::bigint[]) as wanted(id)
    where not exists (select 1 from events e where e.id = wanted.id and e.deleted_at is null and e.start_time > now())`);
  return rows.map((r) => Number(r.id));
}

export async function emailsOf(userIds: number[]): Promise<Map<number, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await db.execute<{ id: number; email: string }>(sql`
    select id, email from users where id = any(${`{${userIds.join(",")}}`}::bigint[])`);
  return new Map(rows.map((r) => [r.id, r.email]));
}
