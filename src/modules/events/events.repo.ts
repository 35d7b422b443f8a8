import { and, asc, count, eq, gte, ilike, isNull, lte, sql } from "drizzle-orm";
import { events } from "../../db/schema";
import { db, type Executor } from "../../platform/db";
import type { EventCreate, EventListFilters, EventUpdate } from "./events.schemas";

export type EventRow = typeof events.$inferSelect;

export interface SeatCounts {
  available: number;
  booked: number;
  held: number;
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Creates the event and its seats 1..capacity: two statements, the seats in one set-based INSERT. */
export async function insertEventWithSeats(tx: Executor, input: EventCreate, createdBy: number): Promise<EventRow> {
  const [row] = await tx
    .insert(events)
    .values({
      name: input.name,
      venue: input.venue ?? null,
      description: input.description ?? null,
      startTime: input.start_time,
      endTime: input.end_time ?? null,
      capacity: input.capacity,
      createdBy,
    })
    .returning();
  if (!row) throw new Error("insert returned no event");
  await insertSeatRange(tx, row.id, 1, input.capacity);
  return row;
}

export async function insertSeatRange(tx: Executor, eventId: number, from: number, to: number): Promise<void> {
  await tx.execute(sql`
    insert into seats (event_id, seat_number)
    select ${eventId}, n from generate_series(${from}::int, ${to}::int) as n`);
}

/** Up to `limit` seats from seat number `from` upwards, in seat order. */
export async function seatsFrom(tx: Executor, eventId: number, from: number, limit: number) {
  if (limit <= 0) return [];
  return tx.execute<{ id: number; seat_number: number }>(sql`
    select id, seat_number from seats where event_id = ${eventId} and seat_number >= ${from}
    order by seat_number limit ${limit}`);
}

export async function findLiveEvent(id: number, ex: Executor = db): Promise<EventRow | undefined> {
  const [row] = await ex
    .select()
    .from(events)
    .where(and(eq(events.id, id), isNull(events.deletedAt)))
    .limit(1);
  return row;
}

/**
 * Locks the event row so admin changes to one event run one at a time. FOR NO KEY UPDATE, not
 * FOR UPDATE: a booking's INSERT takes FOR KEY SHARE on the event (its foreign key) while holding
 * a seat lock, and FOR UPDATE would block it while we wait for that seat: a deadlock.
 */
export async function lockLiveEvent(tx: Executor, id: number): Promise<EventRow | undefined> {
  const [row] = await tx
    .select()
    .from(events)
    .where(and(eq(events.id, id), isNull(events.deletedAt)))
    .for("no key update");
  return row;
}

export async function countSeats(eventId: number, ex: Executor = db): Promise<SeatCounts> {
  const [row] = await ex.execute<{ available: number; booked: number; held: number }>(sql`
    select count(*) filter (where status = 'AVAILABLE')::int as available,
           count(*) filter (where status = 'BOOKED')::int as booked,
           count(*) filter (where status = 'HELD')::int as held
    from seats where event_id = ${eventId}`);
  return row ?? { available: 0, booked: 0, held: 0 };
}

export async function listLiveEvents(f: EventListFilters): Promise<{ rows: EventRow[]; total: number }> {
  const where = and(
    isNull(events.deletedAt),
    f.name ? ilike(events.name, `%${escapeLike(f.name)}%`) : undefined,
    f.venue ? ilike(events.venue, `%${escapeLike(f.venue)}%`) : undefined,
    f.from_date ? gte(events.startTime, f.from_date) : undefined,
    f.to_date ? lte(events.startTime, f.to_date) : undefined,
  );
  const [rows, [totals]] = await Promise.all([
    db
      .select()
      .from(events)
      .where(where)
      .orderBy(asc(events.startTime), asc(events.id))
      .limit(f.limit)
      .offset(f.offset),
    db.select({ total: count() }).from(events).where(where),
  ]);
  return { rows, total: totals?.total ?? 0 };
}

export async function updateEventRow(tx: Executor, id: number, changes: EventUpdate): Promise<EventRow> {
  const [row] = await tx
    .update(events)
    .set({
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.venue !== undefined && { venue: changes.venue }),
      ...(changes.description !== undefined && { description: changes.description }),
      ...(changes.start_time !== undefined && { startTime: changes.start_time }),
      ...(changes.end_time !== undefined && { endTime: changes.end_time }),
      ...(changes.capacity !== undefined && { capacity: changes.capacity }),
      updatedAt: new Date(),
    })
    .where(eq(events.id, id))
    .returning();
  if (!row) throw new Error("event vanished under its lock");
  return row;
}

/**
 * Locks the seats above `capacity` (ascending, like every seat lock) and deletes them if all are
 * AVAILABLE. Returns the seat numbers that are not, in which case nothing is deleted.
 */
export async function removeSeatsAbove(tx: Executor, eventId: number, capacity: number): Promise<number[]> {
  const locked = await tx.execute<{ seat_number: number; status: string }>(sql`
    select seat_number, status from seats
    where event_id = ${eventId} and seat_number > ${capacity}
    order by seat_number for update`);
  const busy = locked.filter((s) => s.status !== "AVAILABLE").map((s) => s.seat_number);
  if (busy.length === 0)
    await tx.execute(sql`delete from seats where event_id = ${eventId} and seat_number > ${capacity}`);
  return busy;
}

/**
 * Soft-deletes an event: locks all its seats in ascending order (so it serialises with bookings,
 * which lock seats too), cancels its BOOKED bookings, frees the seats. Returns who lost a seat.
 */
export async function softDeleteEvent(
  tx: Executor,
  eventId: number,
): Promise<{ user_id: number; email: string; seat_number: number }[]> {
  await tx.execute(sql`select id from seats where event_id = ${eventId} order by seat_number for update`);
  const cancelled = await tx.execute<{ user_id: number; email: string; seat_number: number }>(sql`
    with c as (
      update bookings set status = 'CANCELLED', cancelled_at = now()
      where event_id = ${eventId} and status = 'BOOKED'
      returning user_id, seat_number)
    select c.user_id, u.email, c.seat_number from c join users u on u.id = c.user_id`);
  await tx.execute(sql`
    update seats set status = 'AVAILABLE', held_by = null, hold_expires_at = null
    where event_id = ${eventId} and status <> 'AVAILABLE'`);
  await tx.execute(sql`update events set deleted_at = now(), updated_at = now() where id = ${eventId}`);
  return [...cancelled];
}

/** Upcoming events (soonest first) and the events booked most in the last hour: the warmer's list. */
export async function hotAndUpcomingEventIds(limit: number): Promise<number[]> {
  const rows = await db.execute<{ id: number }>(sql`
    (select id from events where deleted_at is null and start_time > now() order by start_time limit ${limit})
    union
    (select b.event_id from bookings b join events e on e.id = b.event_id
     where b.created_at > now() - interval '1 hour' and e.deleted_at is null
     group by b.event_id order by count(*) desc limit ${limit})`);
  return rows.map((r) => r.id);
}

/** The seat map as one JSON text built by PostgreSQL (no per-row mapping in JS). */
export async function seatMapJson(eventId: number, status?: string): Promise<string | undefined> {
  const [row] = await db.execute<{ live: boolean | null; seats: string }>(sql`
    select (select deleted_at is null from events where id = ${eventId}) as live,
           (select coalesce(json_agg(json_build_object(
                      'id', id, 'event_id', event_id, 'seat_number', seat_number,
                      'status', status, 'extradata', extradata) order by seat_number), '[]'::json)::text
            from seats
            where event_id = ${eventId} ${status ? sql`and status = ${status}::seat_status` : sql``}) as seats`);
  return row?.live ? row.seats : undefined;
}

/** Every seat's status as one character, seat_number order; undefined when the event is not live. */
export async function seatStatusString(eventId: number): Promise<string | undefined> {
  const [row] = await db.execute<{ live: boolean | null; statuses: string }>(sql`
    select (select deleted_at is null from events where id = ${eventId}) as live,
           (select coalesce(string_agg(case status when 'AVAILABLE' then 'A' when 'HELD' then 'H' else 'B' end,
                                       '' order by seat_number), '')
            from seats where event_id = ${eventId}) as statuses`);
  return row?.live ? row.statuses : undefined;
}

export async function listEventBookings(eventId: number) {
  return db.execute<{
    booking_id: number;
    user_id: number;
    user_email: string;
    seat_number: number;
    created_at: string | Date;
  }>(sql`
    select b.id as booking_id, b.user_id, u.email as user_email, b.seat_number, b.created_at
    from bookings b join users u on u.id = b.user_id
    where b.event_id = ${eventId} and b.status = 'BOOKED'
    order by b.seat_number`);
}
