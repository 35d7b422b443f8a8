import { z } from "@hono/zod-openapi";

export const ReadySchema = z.object({
  status: z.enum(["ok", "degraded", "unavailable"]),
  postgres: z.enum(["ok", "down"]),
  redis: z.enum(["ok", "degraded"]),
});
