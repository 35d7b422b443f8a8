import { z } from "@hono/zod-openapi";
import type { HoldRow } from "./holds.repo";

const seatNumber = z.number().int().min(1).max(100_000);

export const CreateHoldRequestSchema = z
  .union([
    z.object({ seat_numbers: z.array(seatNumber).min(1).max(1000) }).strict(),
    z
      .object({
        quantity: z.number().int().min(1).max(1000),
        together: z
          .boolean()
          .optional()
          .openapi({ description: "Adjacent seat numbers, leaving no single seat stranded where possible" }),
      })
      .strict(),
  ])
  .openapi("CreateHoldRequest", {
    description: "Either `seat_numbers` (all or nothing) or `quantity` best available, optionally `together`.",
  });

export const HoldStatusSchema = z.enum(["ACTIVE", "CONFIRMED", "RELEASED", "EXPIRED"]);

export const HoldSchema = z
  .object({
    hold_id: z.number().int(),
    token: z.string().openapi({ description: "The hold's address: keep it secret, it is not guessable" }),
    event_id: z.number().int(),
    seats: z.array(z.number().int()).openapi({ description: "The seat numbers held, ascending" }),
    status: HoldStatusSchema.openapi({ description: "EXPIRED as soon as `expires_at` has passed" }),
    created_at: z.string(),
    expires_at: z.string(),
    extensions: z.number().int(),
  })
  .openapi("Hold");

export type HoldDto = z.infer<typeof HoldSchema>;

export const HoldTokenParams = z.object({
  token: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: "token", in: "path" }, example: "q3Yk0m1cR2n8V7wXb5T9sLhJ4aPfGdEe" }),
});

/** The hold as its owner sees it: an ACTIVE hold past its end already reads EXPIRED. */
export function toHoldDto(row: HoldRow): HoldDto {
  return {
    hold_id: row.id,
    token: row.token,
    event_id: row.eventId,
    seats: row.seatNumbers,
    status: row.status === "ACTIVE" && !row.live ? "EXPIRED" : row.status,
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    extensions: row.extensions,
  };
}
