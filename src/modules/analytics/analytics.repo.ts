import type { events, users } from "../../db/schema";
import type { Executor } from "../../platform/db";

/**
 * Analytics SQL. Every function is one statement with aggregates; the service runs them on the
 * read pool (a replica when DATABASE_READ_URL is set). Definitions (docs/api.md, "Analytics"):
 * - "bookings" are BOOKED ones unless a name says otherwise;
 * - event-level answers and totals cover live events only (deleted_at is null);
 * - history (trends, user stats) never filters on deleted events;
 * - percentages are exact numeric, rounded to 2 decimals in SQL; statuses compare exact integers.
 */

export type EventRow = Pick<typeof events.$inferSelect, "id" | "name" | "venue" | "capacity"> & {
  booked: number;
  utilization: number;
  status: "Full" | "High" | "Medium" | "Low";
};

export interface Totals {
  totalUsers: number;
  totalEvents: number;
  totalBookings: number;
  averageUtilization: number;
}

// Live events with their BOOKED count, exact ratio and status: the base of every event-level answer.
const liveEvents = (ex: Executor) => ex`
  live_events as (
    select s.*,
      s.booked * 100.0 / s.capacity as ratio,
      case
        when s.booked >= s.capacity then 'Full'
        when s.booked * 100 >= s.capacity * 80 then 'High'
        when s.booked * 100 >= s.capacity * 50 then 'Medium'
        else 'Low'
      end as status
    from (
      select e.id, e.name, e.venue, e.capacity, coalesce(b.booked, 0)::int as booked
      from events e
      left join (
        select event_id, count(*)::int as booked from bookings where status = 'BOOKED' group by event_id
      ) b on b.event_id = e.id
      where e.deleted_at is null
    ) s
  )`;

const eventColumns = (ex: Executor) => ex`le.id, le.name, le.venue, le.capacity, le.booked,
  round(le.ratio, 2)::float8 as utilization, le.status`;

const totalsColumns = (ex: Executor) => ex`
  (select count(*)::int from users where deleted_at is null) as total_users,
  count(*)::int as total_events,
  coalesce(sum(booked), 0)::int as total_bookings,
  coalesce(round(avg(ratio), 2), 0)::float8 as average_utilization`;

const noTotals: Totals = { totalUsers: 0, totalEvents: 0, totalBookings: 0, averageUtilization: 0 };

const totalsOf = ({ totalUsers, totalEvents, totalBookings, averageUtilization }: Totals): Totals => ({
  totalUsers,
  totalEvents,
  totalBookings,
  averageUtilization,
});

const eventOf = ({ id, name, venue, capacity, booked, utilization, status }: EventRow): EventRow => ({
  id,
  name,
  venue,
  capacity,
  booked,
  utilization,
  status,
});

/** Live events, most utilized first. */
export async function selectEventUtilization(ex: Executor): Promise<EventRow[]> {
  const found = await ex<EventRow[]>`
    with ${liveEvents(ex)}
    select ${eventColumns(ex)} from live_events le
    order by le.ratio desc, le.id`;
  return [...found];
}

/** The `limit` most booked live events. */
export async function selectPopularEvents(ex: Executor, limit: number): Promise<EventRow[]> {
  const found = await ex<EventRow[]>`
    with ${liveEvents(ex)}
    select ${eventColumns(ex)} from live_events le
    order by le.booked desc, le.id
    limit ${limit}`;
  return [...found];
}

export async function selectTotals(ex: Executor): Promise<Totals> {
  const [row] = await ex<Totals[]>`with ${liveEvents(ex)} select ${totalsColumns(ex)} from live_events`;
  return row ?? noTotals;
}

/** Totals and every live event (most utilized first) in one statement: the overview's first half. */
export async function selectTotalsAndEvents(ex: Executor): Promise<{ totals: Totals; events: EventRow[] }> {
  // Left join: with no live event, the one row carries the totals and nulls for the event.
  const found = await ex<(Totals & (EventRow | { [K in keyof EventRow]: null }))[]>`
    with ${liveEvents(ex)},
    totals as (select ${totalsColumns(ex)} from live_events)
    select t.*, ${eventColumns(ex)}
    from totals t left join live_events le on true
    order by le.ratio desc, le.id`;
  const [first] = found;
  return {
    totals: first ? totalsOf(first) : noTotals,
    events: found.filter((r): r is Totals & EventRow => r.id !== null).map(eventOf),
  };
}

/** One row per UTC day from today - days + 1 to today; days without bookings give 0. */
export async function selectBookingTrends(
  ex: Executor,
  days: number,
): Promise<{ date: string; totalBookings: number; eventsCount: number }[]> {
  const found = await ex<{ date: string; totalBookings: number; eventsCount: number }[]>`
    with bounds as (
      select (now() at time zone 'UTC')::date as today,
             (now() at time zone 'UTC')::date - (${days}::int - 1) as first_day
    ),
    days as (
      select d::date as day
      from bounds, generate_series(bounds.first_day, bounds.today, interval '1 day') as d
    ),
    per_day as (
      select (b.created_at at time zone 'UTC')::date as day,
             count(*)::int as total_bookings,
             count(distinct b.event_id)::int as events_count
      from bookings b, bounds
      where b.status = 'BOOKED' and b.created_at >= (bounds.first_day::timestamp at time zone 'UTC')
      group by 1
    )
    select to_char(days.day, 'YYYY-MM-DD') as date,
           coalesce(per_day.total_bookings, 0) as total_bookings,
           coalesce(per_day.events_count, 0) as events_count
    from days left join per_day on per_day.day = days.day
    order by days.day`;
  return [...found];
}

export type UserStatsRow = Pick<typeof users.$inferSelect, "email"> & {
  userId: number;
  total: number;
  active: number;
  cancelled: number;
  mostBookedVenue: string | null;
};

/** A live user's booking counts over all events, deleted ones included; undefined if no such user. */
export async function selectUserStats(ex: Executor, userId: number): Promise<UserStatsRow | undefined> {
  const [row] = await ex<UserStatsRow[]>`
    select u.id as user_id, u.email,
      count(b.id)::int as total,
      (count(b.id) filter (where b.status = 'BOOKED'))::int as active,
      (count(b.id) filter (where b.status = 'CANCELLED'))::int as cancelled,
      (
        select e.venue from bookings vb join events e on e.id = vb.event_id
        where vb.user_id = u.id and vb.status = 'BOOKED' and e.venue is not null
        group by e.venue
        order by count(*) desc, e.venue
        limit 1
      ) as most_booked_venue
    from users u
    left join bookings b on b.user_id = u.id
    where u.id = ${userId} and u.deleted_at is null
    group by u.id`;
  return row;
}

export type VenueRow = Pick<typeof events.$inferSelect, "venue"> & {
  totalEvents: number;
  totalBookings: number;
  averageUtilization: number;
  mostPopularEvent: string | null;
};

/** Live events grouped by venue, most booked venue first. */
export async function selectVenueAnalytics(ex: Executor): Promise<VenueRow[]> {
  const found = await ex<VenueRow[]>`
    with ${liveEvents(ex)},
    ranked as (
      select le.*, row_number() over (partition by le.venue order by le.booked desc, le.id) as rank
      from live_events le
    )
    select venue,
      count(*)::int as total_events,
      sum(booked)::int as total_bookings,
      round(avg(ratio), 2)::float8 as average_utilization,
      max(name) filter (where rank = 1 and booked > 0) as most_popular_event
    from ranked
    group by venue
    order by total_bookings desc, venue nulls last`;
  return [...found];
}

export interface WaitlistFunnelRow {
  joined: number;
  offered: number;
  accepted: number;
  declined: number;
  expired: number;
  open: number;
  medianSecondsToAccept: number | null;
}

/**
 * The waitlist funnel of one event (or all): people who joined (distinct per event), offers made
 * (reached OFFERED), and what became of them; the median time from offer to acceptance.
 */
export async function selectWaitlistFunnel(ex: Executor, eventId: number | null): Promise<WaitlistFunnelRow> {
  const [row] = await ex<WaitlistFunnelRow[]>`
    select
      (select count(*) from (select distinct event_id, user_id from waitlist_joins
                             where ${eventId}::bigint is null or event_id = ${eventId}::bigint) j)::int as joined,
      count(*) filter (where o.offered_at is not null)::int as offered,
      count(*) filter (where o.status = 'ACCEPTED')::int as accepted,
      count(*) filter (where o.status = 'DECLINED')::int as declined,
      count(*) filter (where o.status = 'EXPIRED')::int as expired,
      count(*) filter (where o.status = 'OFFERED')::int as open,
      (percentile_cont(0.5) within group (order by extract(epoch from o.answered_at - o.offered_at))
         filter (where o.status = 'ACCEPTED'))::float8 as median_seconds_to_accept
    from waitlist_offers o
    where ${eventId}::bigint is null or o.event_id = ${eventId}::bigint`;
  if (!row) throw new Error("funnel query returned no row");
  return row;
}
