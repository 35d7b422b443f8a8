import { z } from "@hono/zod-openapi";
import type { EventBookingRow, EventRow } from "./events.repo";

/** ISO 8601 date-time; without an offset it is read as UTC (as the seed's clients send it). */
export const DateTimeSchema = z.iso
  .datetime({ offset: true, local: true })
  .transform((s) => new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`))
  .refine((d) => !Number.isNaN(d.getTime()), "must be a valid date-time")
  .openapi({ type: "string", format: "date-time", example: "2030-06-15T09:00:00Z" });

const Name = z.string().trim().min(1).max(200);
const Venue = z.string().trim().max(200).nullish();
const Description = z.string().max(5000).nullish();
export const MAX_CAPACITY = 100_000;
const Capacity = z.number().int().min(1).max(MAX_CAPACITY);
const WaitlistPolicy = z.enum(["strict", "first_fit"]).openapi({
  description:
    "Who the waitlist serves when the party at its head does not fit the freed seats: `strict` (default) keeps the line first in, first out, gathering seats for the head; `first_fit` serves smaller parties behind it first. docs/waitlist.md.",
});
// DateTimeSchema's own `type` override would hide the null the field accepts.
const EndTime = DateTimeSchema.nullish().openapi({ type: ["string", "null"], format: "date-time" });

export const EventCreateSchema = z
  .object({
    name: Name,
    venue: Venue,
    description: Description,
    start_time: DateTimeSchema,
    end_time: EndTime,
    capacity: Capacity,
    waitlist_policy: WaitlistPolicy.default("strict"),
  })
  .refine((e) => !e.end_time || e.end_time > e.start_time, {
    message: "end_time must be after start_time",
    path: ["end_time"],
  })
  .openapi("EventCreate");

export const EventUpdateSchema = z
  .object({
    name: Name.optional(),
    venue: Venue,
    description: Description,
    start_time: DateTimeSchema.optional(),
    end_time: EndTime,
    capacity: Capacity.optional(),
    waitlist_policy: WaitlistPolicy.optional(),
  })
  .openapi("EventUpdate");

export type EventCreate = z.output<typeof EventCreateSchema>;
export type EventUpdate = z.output<typeof EventUpdateSchema>;

export const EventSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    venue: z.string().nullable(),
    description: z.string().nullable(),
    start_time: z.string(),
    end_time: z.string().nullable(),
    capacity: z.number().int(),
    waitlist_policy: WaitlistPolicy,
    created_by: z.number().int().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Event");

export type EventDto = z.infer<typeof EventSchema>;

export function toEventDto(row: EventRow): EventDto {
  return {
    id: row.id,
    name: row.name,
    venue: row.venue,
    description: row.description,
    start_time: row.startTime.toISOString(),
    end_time: row.endTime?.toISOString() ?? null,
    capacity: row.capacity,
    waitlist_policy: row.waitlistPolicy,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export const EventDetailSchema = EventSchema.extend({
  available_seats: z.number().int(),
  booked_seats: z.number().int(),
  held_seats: z.number().int(),
  waitlist_size: z.number().int(),
}).openapi("EventDetail");

export type EventDetailDto = z.infer<typeof EventDetailSchema>;

export const EventListQuery = z.object({
  name: z.string().max(200).optional(),
  venue: z.string().max(200).optional(),
  from_date: DateTimeSchema.optional(),
  to_date: DateTimeSchema.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});
export type EventListFilters = z.output<typeof EventListQuery>;

export const SeatStatusSchema = z.enum(["AVAILABLE", "HELD", "BOOKED"]);

/** The most seats one `?from=&to=` page may span. */
export const SEAT_RANGE_MAX = 10_000;
const SeatNumberParam = (description: string) =>
  z.coerce.number().int().min(1).max(MAX_CAPACITY).optional().openapi({ description, example: 1 });

export const SeatMapQuery = z
  .object({
    status: SeatStatusSchema.optional(),
    from: SeatNumberParam(
      `First seat number of a page (inclusive). With \`from\` or \`to\` the answer is the seats in that range, at most ${SEAT_RANGE_MAX} (\`from\` defaults to 1, \`to\` to from + ${SEAT_RANGE_MAX - 1}); without both, every seat.`,
    ),
    to: SeatNumberParam("Last seat number of a page (inclusive)."),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    message: "must not be below from",
    path: ["to"],
  })
  .refine((q) => q.to === undefined || q.to - (q.from ?? 1) < SEAT_RANGE_MAX, {
    message: `a page spans at most ${SEAT_RANGE_MAX} seats`,
    path: ["to"],
  });

export interface SeatRange {
  from: number;
  to: number;
}

/** The page a query asks for, or undefined for the whole map. */
export function seatRangeOf(q: { from?: number; to?: number }): SeatRange | undefined {
  if (q.from === undefined && q.to === undefined) return undefined;
  const from = q.from ?? 1;
  return { from, to: q.to ?? from + SEAT_RANGE_MAX - 1 };
}

export const SeatSchema = z
  .object({
    id: z.number().int(),
    event_id: z.number().int(),
    seat_number: z.number().int(),
    status: SeatStatusSchema,
    extradata: z.record(z.string(), z.unknown()),
  })
  .openapi("Seat");

/** Seat statuses in one character each, in the compact vector (and the live stream's snapshot). */
export const SEAT_STATUS_CODES = { AVAILABLE: "A", HELD: "H", BOOKED: "B" } as const;

export const SeatStatusVectorSchema = z
  .object({
    event_id: z.number().int(),
    capacity: z.number().int(),
    available: z.number().int().min(0),
    held: z.number().int().min(0),
    booked: z.number().int().min(0),
    statuses: z.string().openapi({
      description:
        "One character per seat in seat_number order (character i is seat i + 1): A available, H held (a waitlist offer), B booked",
      example: "AABHBA",
    }),
  })
  .openapi("SeatStatusVector");
export type SeatStatusVector = z.infer<typeof SeatStatusVectorSchema>;

export const EventBookingSchema = z
  .object({
    booking_id: z.number().int(),
    user_id: z.number().int(),
    user_email: z.string(),
    seat_number: z.number().int(),
    created_at: z.string(),
  })
  .openapi("EventBooking");

export function toEventBookingDto(row: EventBookingRow): z.infer<typeof EventBookingSchema> {
  return {
    booking_id: row.bookingId,
    user_id: row.userId,
    user_email: row.userEmail,
    seat_number: row.seatNumber,
    created_at: row.createdAt.toISOString(),
  };
}

export const EventWithBookingsSchema = EventSchema.extend({
  bookings: z.array(EventBookingSchema),
}).openapi("EventWithBookings");
