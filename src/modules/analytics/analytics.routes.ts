import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly, authed } from "../../http/auth";
import { problems } from "../../http/openapi";
import { idParam, jsonContent } from "../../http/router";
import {
  BookingTrendSchema,
  BookingTrendsQuery,
  CapacityUtilizationSchema,
  OverviewSchema,
  PopularEventSchema,
  PopularEventsQuery,
  SummarySchema,
  UserStatsSchema,
  VenueAnalyticsSchema,
  WaitlistFunnelQuery,
  WaitlistFunnelSchema,
} from "./analytics.schemas";

const tags = ["Analytics"];
const cached = "Cached for up to 15 s.";
const adminNote = `Admin only. ${cached}`;

export const overview = createRoute({
  method: "get",
  path: "/analytics/overview",
  operationId: "getAnalyticsOverview",
  summary: "Totals, popular events, utilization and trends",
  tags,
  description: `Totals, most popular events, capacity utilization and 30 days of trends. ${adminNote}`,
  ...adminOnly(),
  responses: { 200: jsonContent(OverviewSchema, "The overview"), ...problems(401, 403) },
});

export const popularEvents = createRoute({
  method: "get",
  path: "/analytics/popular-events",
  operationId: "listPopularEvents",
  summary: "Most booked live events",
  tags,
  description: `Live events, most BOOKED bookings first (ties: lowest id). ${adminNote}`,
  ...adminOnly(),
  request: { query: PopularEventsQuery },
  responses: { 200: jsonContent(z.array(PopularEventSchema), "Most booked events"), ...problems(401, 403) },
});

export const capacityUtilization = createRoute({
  method: "get",
  path: "/analytics/capacity-utilization",
  operationId: "listCapacityUtilization",
  summary: "Each live event's capacity utilization",
  tags,
  description: `Every live event's utilization, most utilized first. ${adminNote}`,
  ...adminOnly(),
  responses: {
    200: jsonContent(z.array(CapacityUtilizationSchema), "Utilization per event"),
    ...problems(401, 403),
  },
});

export const bookingTrends = createRoute({
  method: "get",
  path: "/analytics/booking-trends",
  operationId: "listBookingTrends",
  summary: "Bookings per UTC day",
  tags,
  description: `One row per UTC day, oldest first; days without bookings give 0. ${adminNote}`,
  ...adminOnly(),
  request: { query: BookingTrendsQuery },
  responses: { 200: jsonContent(z.array(BookingTrendSchema), "Bookings per day"), ...problems(401, 403) },
});

export const userStats = createRoute({
  method: "get",
  path: "/analytics/user-stats/{user_id}",
  operationId: "getUserStats",
  summary: "One user's booking stats",
  tags,
  description: `One user's bookings, deleted events included. ${adminNote}`,
  ...adminOnly(),
  request: { params: z.object({ user_id: idParam("user_id") }) },
  responses: { 200: jsonContent(UserStatsSchema, "The user's stats"), ...problems(401, 403, 404) },
});

export const myStats = createRoute({
  method: "get",
  path: "/analytics/my-stats",
  operationId: "getMyStats",
  summary: "The caller's booking stats",
  tags,
  description: `The caller's own booking stats (any signed-in user). ${cached}`,
  ...authed(),
  responses: { 200: jsonContent(UserStatsSchema, "The caller's stats"), ...problems(401) },
});

export const venueAnalytics = createRoute({
  method: "get",
  path: "/analytics/venue-analytics",
  operationId: "listVenueAnalytics",
  summary: "Live events grouped by venue",
  tags,
  description: `Live events grouped by venue, most booked venue first. ${adminNote}`,
  ...adminOnly(),
  responses: { 200: jsonContent(z.array(VenueAnalyticsSchema), "Per-venue figures"), ...problems(401, 403) },
});

export const summary = createRoute({
  method: "get",
  path: "/analytics/summary",
  operationId: "getAnalyticsSummary",
  summary: "Headline totals",
  tags,
  description: `Headline totals with the time they were computed. ${adminNote}`,
  ...adminOnly(),
  responses: { 200: jsonContent(SummarySchema, "The summary"), ...problems(401, 403) },
});

export const waitlistFunnel = createRoute({
  method: "get",
  path: "/analytics/waitlist-funnel",
  operationId: "getWaitlistFunnel",
  summary: "Waitlist funnel: joined, offered, accepted, declined, expired",
  tags,
  description:
    "People who joined an event's waitlist, the offers made and how they ended, the conversion rate (accepted / offered) and the median time to accept. Admin only; not cached. docs/waitlist.md.",
  ...adminOnly(),
  request: { query: WaitlistFunnelQuery },
  responses: { 200: jsonContent(WaitlistFunnelSchema, "The funnel"), ...problems(401, 403, 422) },
});
