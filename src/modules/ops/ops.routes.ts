import { createRoute, z } from "@hono/zod-openapi";
import { problems } from "../../http/openapi";
import { jsonContent } from "../../http/router";
import { ReadySchema } from "./ops.schemas";

const tags = ["Operations"];

export const healthRoute = createRoute({
  method: "get",
  path: "/health",
  operationId: "getHealth",
  summary: "Liveness",
  tags,
  description: "Liveness: answers without touching any dependency.",
  responses: { 200: jsonContent(z.object({ status: z.literal("ok") }), "The process is alive") },
});

export const readyRoute = createRoute({
  method: "get",
  path: "/ready",
  operationId: "getReadiness",
  summary: "Readiness (PostgreSQL and Redis)",
  tags,
  description:
    "Readiness: 503 when PostgreSQL is unreachable; 200 with redis 'degraded' when only Redis is, and replica 'down' (status 'degraded') when the read replica is, whose reads then go to the primary. Each process checks at most once a second and answers every probe in between from that check.",
  responses: { 200: jsonContent(ReadySchema, "Ready (possibly degraded)"), ...problems(503) },
});
