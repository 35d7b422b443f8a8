import { z } from "@hono/zod-openapi";

/** Response shapes keep the seed's field names (its clients read them); see docs/api.md, "Analytics". */

const count = (description: string) => z.number().int().min(0).openapi({ description });
const percentage = (description: string) =>
  z
    .number()
    .min(0)
    .openapi({ description: `${description}; 0..100, rounded to 2 decimals`, example: 66.67 });

export const UtilizationStatus = z
  .enum(["Full", "High", "Medium", "Low"])
  .openapi({ description: "Full: every seat booked; High: ≥ 80 %; Medium: ≥ 50 %; Low: below 50 %" });

export const PopularEventSchema = z
  .object({
    event_id: z.number().int(),
    event_name: z.string(),
    venue: z.string().nullable(),
    total_bookings: count("BOOKED bookings of the event"),
    capacity: z.number().int(),
    utilization_percentage: percentage("total_bookings / capacity"),
  })
  .openapi("PopularEvent");

export const CapacityUtilizationSchema = z
  .object({
    event_id: z.number().int(),
    event_name: z.string(),
    venue: z.string().nullable(),
    total_capacity: z.number().int(),
    booked_seats: count("BOOKED bookings of the event"),
    available_seats: count("total_capacity - booked_seats (seats held for a waitlist offer count as available)"),
    utilization_percentage: percentage("booked_seats / total_capacity"),
    status: UtilizationStatus,
  })
  .openapi("CapacityUtilization");

export const BookingTrendSchema = z
  .object({
    date: z.string().openapi({ description: "UTC calendar day", example: "2026-11-25" }),
    total_bookings: count("bookings made that day and still BOOKED (events deleted later included)"),
    events_count: count("distinct events among those bookings"),
  })
  .openapi("BookingTrend");

export const UserStatsSchema = z
  .object({
    user_id: z.number().int(),
    user_email: z.string(),
    total_bookings: count("every booking the user ever made, whatever its status"),
    active_bookings: count("BOOKED"),
    cancelled_bookings: count("CANCELLED"),
    most_booked_venue: z
      .string()
      .nullable()
      .openapi({ description: "venue with most of the user's BOOKED bookings (ties: alphabetical); null if none" }),
  })
  .openapi("UserStats");

export const VenueAnalyticsSchema = z
  .object({
    venue: z.string().nullable().openapi({ description: "null groups the events without a venue" }),
    total_events: count("live events at the venue"),
    total_bookings: count("BOOKED bookings of those events"),
    average_utilization: percentage("mean of the events' utilization"),
    most_popular_event: z
      .string()
      .nullable()
      .openapi({ description: "name of the most booked event (ties: lowest id); null if none is booked" }),
  })
  .openapi("VenueAnalytics");

const totals = {
  total_bookings: count("BOOKED bookings of live (not deleted) events"),
  total_events: count("live (not deleted) events"),
  total_users: count("user accounts"),
  average_capacity_utilization: percentage("mean of the live events' utilization"),
};

export const SummarySchema = z
  .object({
    ...totals,
    last_updated: z.string().openapi({ description: "when these figures were computed (ISO 8601)" }),
  })
  .openapi("AnalyticsSummary");

export const OverviewSchema = z
  .object({
    ...totals,
    most_popular_events: z.array(PopularEventSchema).openapi({ description: "as /popular-events?limit=10" }),
    capacity_utilization: z.array(CapacityUtilizationSchema).openapi({ description: "as /capacity-utilization" }),
    booking_trends: z.array(BookingTrendSchema).openapi({ description: "as /booking-trends?days=30" }),
  })
  .openapi("AnalyticsOverview");

export const PopularEventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(50).default(10).openapi({ example: 10 }),
});

export const BookingTrendsQuery = z.object({
  days: z.coerce.number().int().min(1).max(365).default(30).openapi({ example: 30 }),
});

export type PopularEvent = z.infer<typeof PopularEventSchema>;
export type CapacityUtilization = z.infer<typeof CapacityUtilizationSchema>;
export type BookingTrend = z.infer<typeof BookingTrendSchema>;
export type UserStats = z.infer<typeof UserStatsSchema>;
export type VenueAnalytics = z.infer<typeof VenueAnalyticsSchema>;
export type Summary = z.infer<typeof SummarySchema>;
export type Overview = z.infer<typeof OverviewSchema>;

export const WaitlistFunnelQuery = z.object({
  event_id: z.coerce
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .optional()
    .openapi({ description: "One event's funnel; without it, every event's together.", example: 1 }),
});

export const WaitlistFunnelSchema = z
  .object({
    event_id: z.number().int().nullable(),
    joined: z.number().int().openapi({ description: "People who joined the line (once per event)" }),
    offered: z.number().int().openapi({ description: "Offers made (their party's seats held for them)" }),
    accepted: z.number().int(),
    declined: z.number().int(),
    expired: z.number().int(),
    open: z.number().int().openapi({ description: "Offers still waiting for an answer" }),
    conversion_rate: z
      .number()
      .nullable()
      .openapi({ description: "accepted / offered, 0..1 (4 decimals); null before any offer" }),
    median_seconds_to_accept: z
      .number()
      .nullable()
      .openapi({ description: "Median time from offer to acceptance; null before any acceptance" }),
  })
  .openapi("WaitlistFunnel");
export type WaitlistFunnel = z.infer<typeof WaitlistFunnelSchema>;
