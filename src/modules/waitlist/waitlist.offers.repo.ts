import type { events, seats, waitlistOffers } from "../../db/schema";
import type { Executor, Tx } from "../../platform/db";

/**
 * The SQL of waitlist offers (docs/waitlist.md). Every function runs in the caller's
 * transaction; the caller holds the (user, event) advisory lock of every user it touches (taken
 * in ascending user id) before any seat lock, as bookings do.
 */

type SeatRow = typeof seats.$inferSelect;
type OfferRow = typeof waitlistOffers.$inferSelect;
export type OfferStatus = OfferRow["status"];

export type ServingEvent = Pick<typeof events.$inferSelect, "name" | "waitlistPolicy" | "startTime"> & {
  gone: boolean;
};

export async function servingEvent(ex: Executor, eventId: number): Promise<ServingEvent | undefined> {
  const [row] = await ex<ServingEvent[]>`
    select name, waitlist_policy, start_time, (deleted_at is not null or start_time <= now()) as gone
    from events where id = ${eventId}`;
  return row;
}

export type FreeSeat = Pick<SeatRow, "id" | "seatNumber">;

/**
 * The event's AVAILABLE seats, lowest numbers first, locked; rows another transaction has locked
 * (a buyer taking them) are skipped, as book_seats skips them.
 */
export async function lockFreeSeats(tx: Tx, eventId: number, limit: number): Promise<FreeSeat[]> {
  return [
    ...(await tx<FreeSeat[]>`
      select id, seat_number from seats
      where event_id = ${eventId} and status = 'AVAILABLE'
      order by seat_number limit ${limit}
      for update skip locked`),
  ];
}

export type LiveOffer = Pick<OfferRow, "id" | "userId" | "status" | "partySize"> & { seats: FreeSeat[] };

/** The PENDING or OFFERED offers of these users in the event, with their HELD seats (locked). */
export async function liveOffersOf(tx: Tx, eventId: number, userIds: number[]): Promise<Map<number, LiveOffer>> {
  const out = new Map<number, LiveOffer>();
  if (userIds.length === 0) return out;
  const offers = await tx<Pick<OfferRow, "id" | "userId" | "status" | "partySize">[]>`
    select id, user_id, status, party_size from waitlist_offers
    where event_id = ${eventId} and user_id = any(${userIds}::bigint[]) and status in ('PENDING', 'OFFERED')
    order by user_id
    for update`;
  for (const o of offers) out.set(Number(o.userId), { ...o, userId: Number(o.userId), seats: [] });
  if (offers.length === 0) return out;
  const held = await tx<(FreeSeat & { offerId: number })[]>`
    select id, seat_number, offer_id from seats
    where offer_id = any(${offers.map((o) => o.id)}::bigint[])
    order by seat_number
    for update`;
  const byId = new Map([...out.values()].map((o) => [o.id, o]));
  for (const s of held) byId.get(Number(s.offerId))?.seats.push({ id: s.id, seatNumber: s.seatNumber });
  return out;
}

/**
 * Users among these who need no offer: a BOOKED booking in the event, a seat HELD for them other
 * than through a gathering (PENDING) offer of theirs, or an offer made since they joined the line
 * (`joinedAtMs`, the entry's score: they were served for this place in line, and answered it
 * before their entry was removed after that offer's COMMIT).
 */
export async function seatedUsersAmong(
  tx: Tx,
  eventId: number,
  users: { userId: number; joinedAtMs?: number }[],
): Promise<Set<number>> {
  if (users.length === 0) return new Set();
  const ids = users.map((u) => u.userId);
  const joined = users.map((u) => (u.joinedAtMs === undefined ? null : u.joinedAtMs / 1000));
  const rows = await tx<{ userId: number }[]>`
    select u.id as user_id from unnest(${ids}::bigint[], ${joined}::float8[]) as u(id, joined)
    where exists (select 1 from bookings b where b.event_id = ${eventId} and b.user_id = u.id and b.status = 'BOOKED')
       or exists (select 1 from seats s left join waitlist_offers o on o.id = s.offer_id
                  where s.event_id = ${eventId} and s.status = 'HELD' and s.held_by = u.id
                    and (o.id is null or o.status <> 'PENDING'))
       or (u.joined is not null and exists (
             select 1 from waitlist_offers o
             where o.event_id = ${eventId} and o.user_id = u.id and o.offered_at >= to_timestamp(u.joined)))`;
  return new Set(rows.map((r) => Number(r.userId)));
}

export async function createPendingOffer(
  tx: Tx,
  eventId: number,
  userId: number,
  partySize: number,
  until: Date,
): Promise<number> {
  const [row] = await tx<Pick<OfferRow, "id">[]>`
    insert into waitlist_offers (event_id, user_id, party_size, status, expires_at)
    values (${eventId}, ${userId}, ${partySize}, 'PENDING', ${until})
    returning id`;
  if (!row) throw new Error("offer insert returned nothing");
  return row.id;
}

/** Holds AVAILABLE seats (already locked) for an offer until `until`. */
export async function holdSeatsForOffer(
  tx: Tx,
  offerId: number,
  userId: number,
  seatIds: number[],
  until: Date,
): Promise<void> {
  if (seatIds.length === 0) return;
  await tx`
    update seats set status = 'HELD', held_by = ${userId}, hold_expires_at = ${until}, offer_id = ${offerId}
    where id = any(${seatIds}::bigint[]) and status = 'AVAILABLE'`;
}

/** Gives gathered seats back (AVAILABLE); the caller hands them on in the same transaction. */
export async function releaseSeats(tx: Tx, seatIds: number[]): Promise<void> {
  if (seatIds.length === 0) return;
  await tx`
    update seats set status = 'AVAILABLE', held_by = null, hold_expires_at = null, offer_id = null
    where id = any(${seatIds}::bigint[])`;
}

/** Every seat still HELD for an offer, back to AVAILABLE (the caller hands them on). */
export async function releaseOfferSeats(tx: Tx, offerId: number): Promise<FreeSeat[]> {
  return [
    ...(await tx<FreeSeat[]>`
      update seats set status = 'AVAILABLE', held_by = null, hold_expires_at = null, offer_id = null
      where offer_id = ${offerId} and status = 'HELD'
      returning id, seat_number`),
  ].sort((a, b) => a.seatNumber - b.seatNumber);
}

export async function setGathered(tx: Tx, offerId: number, seatNumbers: number[]): Promise<void> {
  await tx`update waitlist_offers set seat_numbers = ${seatNumbers}::int[] where id = ${offerId}`;
}

export type MadeOffer = { expiresAt: Date; email: string };

/** PENDING -> OFFERED: the party's seats are complete; the clock starts now. */
export async function markOffered(
  tx: Tx,
  offerId: number,
  seatNumbers: number[],
  ttlSeconds: number,
): Promise<MadeOffer> {
  const [row] = await tx<MadeOffer[]>`
    with o as (
      update waitlist_offers set status = 'OFFERED', offered_at = now(), seat_numbers = ${seatNumbers}::int[],
             expires_at = now() + make_interval(secs => ${ttlSeconds})
      where id = ${offerId} returning user_id, expires_at),
    s as (update seats set hold_expires_at = o.expires_at from o where seats.offer_id = ${offerId})
    select o.expires_at, u.email from o join users u on u.id = o.user_id`;
  if (!row) throw new Error("offer update returned nothing");
  return row;
}

/** Ends a live offer (its seats must have been released or booked first). */
export async function endOffer(tx: Tx, offerId: number, status: "DECLINED" | "EXPIRED" | "WITHDRAWN"): Promise<void> {
  await tx`update waitlist_offers set status = ${status}, answered_at = now() where id = ${offerId}`;
}

// An offer is over at its expires_at, or once a seat's hold has ended (they are set together).
export type OfferView = Pick<
  OfferRow,
  "id" | "eventId" | "userId" | "partySize" | "seatNumbers" | "status" | "offeredAt" | "expiresAt" | "answeredAt"
> & { expired: boolean; email: string; eventName: string };

export async function findOffer(ex: Executor, offerId: number, lock = false): Promise<OfferView | undefined> {
  const [row] = lock
    ? await ex<OfferView[]>`
        select o.id, o.event_id, o.user_id, o.party_size, o.seat_numbers, o.status, o.offered_at, o.expires_at,
               o.answered_at, (o.expires_at <= now() or exists (select 1 from seats x where x.offer_id = o.id and x.hold_expires_at <= now())) as expired, u.email, e.name as event_name
        from waitlist_offers o join users u on u.id = o.user_id join events e on e.id = o.event_id
        where o.id = ${offerId} for update of o`
    : await ex<OfferView[]>`
        select o.id, o.event_id, o.user_id, o.party_size, o.seat_numbers, o.status, o.offered_at, o.expires_at,
               o.answered_at, (o.expires_at <= now() or exists (select 1 from seats x where x.offer_id = o.id and x.hold_expires_at <= now())) as expired, u.email, e.name as event_name
        from waitlist_offers o join users u on u.id = o.user_id join events e on e.id = o.event_id
        where o.id = ${offerId}`;
  return row;
}

/** Offers shown to their owner: everything but gathering ones, newest first. */
export async function offersOfUser(ex: Executor, userId: number, limit: number): Promise<OfferView[]> {
  return [
    ...(await ex<OfferView[]>`
      select o.id, o.event_id, o.user_id, o.party_size, o.seat_numbers, o.status, o.offered_at, o.expires_at,
             o.answered_at, (o.expires_at <= now() or exists (select 1 from seats x where x.offer_id = o.id and x.hold_expires_at <= now())) as expired, u.email, e.name as event_name
      from waitlist_offers o join users u on u.id = o.user_id join events e on e.id = o.event_id
      where o.user_id = ${userId} and o.status <> 'PENDING' and o.status <> 'WITHDRAWN'
      order by o.id desc limit ${limit}`),
  ];
}

export type DueOffer = Pick<OfferRow, "id" | "eventId" | "userId" | "status">;

/** Live offers past their end, found without locks (the janitor's to-do list). */
export async function dueOffers(ex: Executor, limit: number): Promise<DueOffer[]> {
  return [
    ...(await ex<DueOffer[]>`
      select id, event_id, user_id, status from waitlist_offers
      where status in ('PENDING', 'OFFERED') and expires_at < now()
      union
      select o.id, o.event_id, o.user_id, o.status from seats s join waitlist_offers o on o.id = s.offer_id
      where s.status = 'HELD' and s.hold_expires_at < now() and s.offer_id is not null
        and o.status in ('PENDING', 'OFFERED')
      limit ${limit}`),
  ];
}

/** Offers gathering seats (PENDING), oldest first. */
export async function gatheringOffers(ex: Executor, limit: number): Promise<DueOffer[]> {
  return [
    ...(await ex<DueOffer[]>`
      select id, event_id, user_id, status from waitlist_offers
      where status = 'PENDING' order by id limit ${limit}`),
  ];
}

/** Seats released per hour in the event lately: cancellations, declines and expiries. */
export async function releasesLastHour(ex: Executor, eventId: number): Promise<number> {
  const [row] = await ex<{ released: number }[]>`
    select (select count(*) from bookings
             where event_id = ${eventId} and status = 'CANCELLED' and cancelled_at > now() - interval '1 hour')::int
         + (select coalesce(sum(seat_count), 0) from waitlist_offer_events
             where event_id = ${eventId} and status in ('DECLINED', 'EXPIRED') and at > now() - interval '1 hour')::int
           as released`;
  return row?.released ?? 0;
}

export async function recordJoin(ex: Executor, eventId: number, userId: number, partySize: number): Promise<void> {
  await ex`insert into waitlist_joins (event_id, user_id, party_size) values (${eventId}, ${userId}, ${partySize})`;
}
