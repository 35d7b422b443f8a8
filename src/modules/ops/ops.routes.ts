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
  description: "Readiness: 503 when PostgreSQL is unreachable; 200 with redis 'degraded' when only Redis is.",
  responses: { 200: jsonContent(ReadySchema, "Ready (possibly degraded)"), ...problems(503) },
});

export const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  operationId: "getMetrics",
  summary: "Prometheus metrics",
  tags,
  description:
    "Prometheus text. By default the whole API pool: counters and histograms summed over every live API process (snapshots shared through Redis), plus pool gauges sampled now. `?scope=process` answers with this process alone.",
  request: { query: z.object({ scope: z.enum(["pool", "process"]).default("pool") }) },
  responses: { 200: { description: "Prometheus metrics", content: { "text/plain": { schema: z.string() } } } },
});
