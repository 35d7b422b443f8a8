import { analyticsEntry, getOrLoadJson, type Json } from "../../cache";
import type { AuthUser } from "../../domain/auth-user";
import { DomainError, ErrorCode } from "../../domain/errors";
import { onReplica } from "../../platform/db";
import {
  type EventRow,
  selectBookingTrends,
  selectEventUtilization,
  selectPopularEvents,
  selectTotals,
  selectTotalsAndEvents,
  selectUserStats,
  selectVenueAnalytics,
  selectWaitlistFunnel,
} from "./analytics.repo";
import type {
  BookingTrend,
  CapacityUtilization,
  Overview,
  PopularEvent,
  Summary,
  UserStats,
  VenueAnalytics,
  WaitlistFunnel,
} from "./analytics.schemas";

/**
 * Analytics answers, each cached for 15 s under the `analytics` namespace (docs/caching.md) and
 * returned as JSON text, so a cached answer is sent without being parsed or re-serialised.
 * Bookings do not invalidate them: the TTL is the freshness bound, and `/summary` says when its
 * figures were computed.
 */

const OVERVIEW_POPULAR_LIMIT = 10;
const OVERVIEW_TREND_DAYS = 30;

const toPopular = (e: EventRow): PopularEvent => ({
  event_id: e.id,
  event_name: e.name,
  venue: e.venue,
  total_bookings: e.booked,
  capacity: e.capacity,
  utilization_percentage: e.utilization,
});

const toCapacity = (e: EventRow): CapacityUtilization => ({
  event_id: e.id,
  event_name: e.name,
  venue: e.venue,
  total_capacity: e.capacity,
  booked_seats: e.booked,
  available_seats: Math.max(0, e.capacity - e.booked),
  utilization_percentage: e.utilization,
  status: e.status,
});

async function trends(days: number): Promise<BookingTrend[]> {
  const found = await onReplica((db) => selectBookingTrends(db, days));
  return found.map((d) => ({ date: d.date, total_bookings: d.totalBookings, events_count: d.eventsCount }));
}

/** Same order as selectPopularEvents: most booked first, then lowest id. */
const byBookings = (a: EventRow, b: EventRow) => b.booked - a.booked || a.id - b.id;

export function getOverview(): Promise<Json<Overview>> {
  return getOrLoadJson(analyticsEntry("overview"), async () => {
    const [{ totals, events }, bookingTrends] = await Promise.all([
      onReplica((db) => selectTotalsAndEvents(db)),
      trends(OVERVIEW_TREND_DAYS),
    ]);
    return {
      total_bookings: totals.totalBookings,
      total_events: totals.totalEvents,
      total_users: totals.totalUsers,
      average_capacity_utilization: totals.averageUtilization,
      most_popular_events: [...events].sort(byBookings).slice(0, OVERVIEW_POPULAR_LIMIT).map(toPopular),
      capacity_utilization: events.map(toCapacity),
      booking_trends: bookingTrends,
    };
  });
}

export function getPopularEvents(limit: number): Promise<Json<PopularEvent[]>> {
  return getOrLoadJson(analyticsEntry(`popular:${limit}`), async () =>
    (await onReplica((db) => selectPopularEvents(db, limit))).map(toPopular),
  );
}

export function getCapacityUtilization(): Promise<Json<CapacityUtilization[]>> {
  return getOrLoadJson(analyticsEntry("capacity"), async () =>
    (await onReplica((db) => selectEventUtilization(db))).map(toCapacity),
  );
}

export function getBookingTrends(days: number): Promise<Json<BookingTrend[]>> {
  return getOrLoadJson(analyticsEntry(`trends:${days}`), () => trends(days));
}

export function getVenueAnalytics(): Promise<Json<VenueAnalytics[]>> {
  return getOrLoadJson(analyticsEntry("venues"), async () =>
    (await onReplica((db) => selectVenueAnalytics(db))).map((v) => ({
      venue: v.venue,
      total_events: v.totalEvents,
      total_bookings: v.totalBookings,
      average_utilization: v.averageUtilization,
      most_popular_event: v.mostPopularEvent,
    })),
  );
}

export function getSummary(): Promise<Json<Summary>> {
  return getOrLoadJson(analyticsEntry("summary"), async () => {
    const totals = await onReplica((db) => selectTotals(db));
    return {
      total_bookings: totals.totalBookings,
      total_events: totals.totalEvents,
      total_users: totals.totalUsers,
      average_capacity_utilization: totals.averageUtilization,
      last_updated: new Date().toISOString(),
    };
  });
}

/** Any user's stats (admin route). A missing user is a 404, which is never cached. */
export function getUserStats(userId: number): Promise<Json<UserStats>> {
  return getOrLoadJson(analyticsEntry(`user:${userId}`), async () => {
    const row = await onReplica((db) => selectUserStats(db, userId));
    if (!row) throw new DomainError(ErrorCode.USER_NOT_FOUND, `User ${userId} does not exist.`);
    return {
      user_id: row.userId,
      user_email: row.email,
      total_bookings: row.total,
      active_bookings: row.active,
      cancelled_bookings: row.cancelled,
      most_booked_venue: row.mostBookedVenue,
    };
  });
}

export function getMyStats(actor: AuthUser): Promise<Json<UserStats>> {
  return getUserStats(actor.id);
}

/**
 * The waitlist funnel (docs/waitlist.md): read from PostgreSQL on every call, not cached (a few
 * aggregates over one event's offers).
 */
export async function getWaitlistFunnel(eventId: number | undefined): Promise<WaitlistFunnel> {
  const f = await onReplica((db) => selectWaitlistFunnel(db, eventId ?? null));
  return {
    event_id: eventId ?? null,
    joined: f.joined,
    offered: f.offered,
    accepted: f.accepted,
    declined: f.declined,
    expired: f.expired,
    open: f.open,
    conversion_rate: f.offered > 0 ? Math.round((f.accepted / f.offered) * 10_000) / 10_000 : null,
    median_seconds_to_accept:
      f.medianSecondsToAccept === null ? null : Math.round(f.medianSecondsToAccept * 1000) / 1000,
  };
}
