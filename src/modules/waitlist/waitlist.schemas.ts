import { z } from "@hono/zod-openapi";
import type { WaitlistPosition } from "./waitlist.store";

export const WaitlistEntrySchema = z
  .object({ event_id: z.number().int(), position: z.number().int(), size: z.number().int(), joined_at: z.string() })
  .openapi("WaitlistEntry");

export const WaitlistLineSchema = z
  .array(
    z.object({
      position: z.number().int(),
      user_id: z.number().int(),
      user_email: z.string().nullable(),
      joined_at: z.string(),
    }),
  )
  .openapi("WaitlistLine");

export type WaitlistEntryDto = z.infer<typeof WaitlistEntrySchema>;

export const toWaitlistEntryDto = (eventId: number, p: WaitlistPosition): WaitlistEntryDto => ({
  event_id: eventId,
  position: p.position,
  size: p.size,
  joined_at: new Date(p.joinedAtMs).toISOString(),
});
