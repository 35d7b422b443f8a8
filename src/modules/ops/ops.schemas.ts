import { z } from "@hono/zod-openapi";

export const ReadySchema = z.object({
  status: z.enum(["ok", "degraded", "unavailable"]),
  postgres: z.enum(["ok", "down"]),
  redis: z.enum(["ok", "degraded"]),
  /** The PostgreSQL read replica (DATABASE_READ_URL): "none" when not configured; "down": its reads go to the primary. */
  replica: z.enum(["none", "ok", "down"]),
});
