import { z } from "@hono/zod-openapi";
import { config } from "../../config";
import type { OfferView } from "./waitlist.offers.repo";

export const JoinWaitlistRequestSchema = z
  .object({
    party_size: z
      .number()
      .int()
      .min(1)
      .max(config.MAX_SEATS_PER_BOOKING)
      .default(1)
      .openapi({ description: "Seats wanted together, all or nothing (default 1).", example: 2 }),
  })
  .openapi("JoinWaitlistRequest");

export const WaitlistEntrySchema = z
  .object({
    event_id: z.number().int(),
    position: z.number().int().openapi({ description: "1-based place in line" }),
    ahead: z.number().int().openapi({ description: "People ahead in line (position - 1)" }),
    party_size: z.number().int(),
    size: z.number().int().openapi({ description: "People in line" }),
    joined_at: z.string(),
    estimated_wait_seconds: z.number().int().nullable().openapi({
      description:
        "Seats the parties ahead and this one want, divided by the event's release rate over the last hour (cancellations, declined and expired offers); null with no release in that hour. docs/waitlist.md.",
    }),
  })
  .openapi("WaitlistEntry");

export const WaitlistLineSchema = z
  .array(
    z.object({
      position: z.number().int(),
      user_id: z.number().int(),
      user_email: z.string().nullable(),
      party_size: z.number().int(),
      joined_at: z.string(),
    }),
  )
  .openapi("WaitlistLine");

export type WaitlistEntryDto = z.infer<typeof WaitlistEntrySchema>;

export const OfferStatusSchema = z.enum(["OFFERED", "ACCEPTED", "DECLINED", "EXPIRED"]);

export const WaitlistOfferSchema = z
  .object({
    offer_id: z.number().int(),
    event_id: z.number().int(),
    event_name: z.string(),
    seats: z.array(z.number().int()).openapi({ description: "Seat numbers offered" }),
    party_size: z.number().int(),
    status: OfferStatusSchema,
    offered_at: z.string(),
    expires_at: z.string(),
    answered_at: z.string().nullable(),
  })
  .openapi("WaitlistOffer");

export const WaitlistOfferListSchema = z.array(WaitlistOfferSchema).openapi("WaitlistOfferList");

export type WaitlistOfferDto = z.infer<typeof WaitlistOfferSchema>;

export function toOfferDto(o: OfferView): WaitlistOfferDto {
  return {
    offer_id: o.id,
    event_id: o.eventId,
    event_name: o.eventName,
    seats: o.seatNumbers,
    party_size: o.partySize,
    status: o.status as WaitlistOfferDto["status"],
    offered_at: (o.offeredAt ?? o.expiresAt).toISOString(),
    expires_at: o.expiresAt.toISOString(),
    answered_at: o.answeredAt?.toISOString() ?? null,
  };
}

// The seed's booking shape (bookings.schemas BookingSchema): the bookings module depends on the
// waitlist's service, so the waitlist cannot import it back; the two are kept field for field.
const AcceptedBookingSchema = z.object({
  booking_id: z.number().int(),
  event_id: z.number().int(),
  seat_number: z.number().int(),
  status: z.enum(["PENDING", "BOOKED", "CANCELLED"]),
  venue: z.string().nullable(),
  event_name: z.string(),
  created_at: z.string(),
  cancelled_at: z.string().nullable(),
});

export const AcceptedOfferSchema = z.object({ bookings: z.array(AcceptedBookingSchema) }).openapi("AcceptedOffer");
export type AcceptedOfferDto = z.infer<typeof AcceptedOfferSchema>;
