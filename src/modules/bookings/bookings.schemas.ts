import { z } from "@hono/zod-openapi";
import type { BookingRow } from "./bookings.repo";

export const BookingSchema = z
  .object({
    booking_id: z.number().int(),
    event_id: z.number().int(),
    seat_number: z.number().int(),
    status: z.enum(["PENDING", "BOOKED", "CANCELLED"]),
    venue: z.string().nullable(),
    event_name: z.string(),
    created_at: z.string(),
    cancelled_at: z.string().nullable(),
  })
  .openapi("Booking");

export type BookingDto = z.infer<typeof BookingSchema>;

export const MultiBookingSchema = z.object({ bookings: z.array(BookingSchema) }).openapi("MultiBooking");

export const BookManyRequestSchema = z
  .union([
    z.object({ seat_numbers: z.array(z.number().int().min(1).max(100_000)).min(1).max(1000) }),
    z.object({ quantity: z.number().int().min(1).max(1000) }),
  ])
  .openapi("BookManyRequest", {
    description: "Either `seat_numbers` (all or nothing) or `quantity` (best available).",
  });

export const IdempotencyHeaders = z.object({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, "must be 1..255 visible ASCII characters")
    .optional()
    .openapi({ description: "Retries with the same key and body return the first answer; 24 h, per user." }),
});

export function toBookingDto(row: BookingRow): BookingDto {
  return {
    booking_id: row.bookingId,
    event_id: row.eventId,
    seat_number: row.seatNumber,
    status: row.status,
    venue: row.venue,
    event_name: row.eventName,
    created_at: row.createdAt.toISOString(),
    cancelled_at: row.cancelledAt?.toISOString() ?? null,
  };
}
