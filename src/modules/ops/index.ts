import { createRoute, z } from "@hono/zod-openapi";
import { DomainError, ErrorCode } from "../../domain/errors";
import { problems } from "../../http/openapi";
import { createRouter, jsonContent } from "../../http/router";
import { registry } from "../../platform/metrics";
import { metricsText } from "./ops.metrics";
import { checkReadiness } from "./ops.service";

const tags = ["Operations"];

const health = createRoute({
  method: "get",
  path: "/health",
  operationId: "getHealth",
  summary: "Liveness",
  tags,
  description: "Liveness: answers without touching any dependency.",
  responses: { 200: jsonContent(z.object({ status: z.literal("ok") }), "The process is alive") },
});

const ReadySchema = z.object({
  status: z.enum(["ok", "degraded", "unavailable"]),
  postgres: z.enum(["ok", "down"]),
  redis: z.enum(["ok", "degraded"]),
});

const ready = createRoute({
  method: "get",
  path: "/ready",
  operationId: "getReadiness",
  summary: "Readiness (PostgreSQL and Redis)",
  tags,
  description: "Readiness: 503 when PostgreSQL is unreachable; 200 with redis 'degraded' when only Redis is.",
  responses: { 200: jsonContent(ReadySchema, "Ready (possibly degraded)"), ...problems(503) },
});

const metrics = createRoute({
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

export const opsRouter = createRouter()
  .openapi(health, (c) => c.json({ status: "ok" as const }, 200))
  .openapi(ready, async (c) => {
    const state = await checkReadiness();
    if (state.postgres === "down") {
      throw new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "PostgreSQL is unreachable.", { retryAfterSeconds: 5 });
    }
    return c.json(state, 200);
  })
  .openapi(metrics, async (c) => {
    const scope = c.req.valid("query").scope;
    return c.text(await metricsText(scope), 200, { "content-type": registry.contentType });
  });
