import { createRoute, z } from "@hono/zod-openapi";
import { DomainError, ErrorCode } from "../../domain/errors";
import { handleError } from "../../http/error-handler";
import { createRouter, jsonContent, problems, validationError } from "../../http/router";
import { registry } from "../../platform/metrics";
import { metricsText } from "./ops.metrics";
import { readiness } from "./ops.service";

const tags = ["Operations"];

const health = createRoute({
  method: "get",
  path: "/health",
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
  tags,
  description:
    "Readiness: 503 when PostgreSQL is unreachable; 200 with redis 'degraded' when only Redis is. Each process checks at most once a second and answers every probe in between from that check.",
  responses: { 200: jsonContent(ReadySchema, "Ready (possibly degraded)"), ...problems(503) },
});

export const opsRouter = createRouter()
  .openapi(health, (c) => c.json({ status: "ok" as const }, 200))
  .openapi(ready, async (c) => {
    const state = await readiness();
    if (state.postgres === "down") {
      throw new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "PostgreSQL is unreachable.", { retryAfterSeconds: 5 });
    }
    return c.json(state, 200);
  });

const MetricsQuery = z.object({ scope: z.enum(["pool", "process"]).default("pool") });

/**
 * GET /metrics for the API processes, served on METRICS_PORT by src/server.ts and never on PORT
 * (the API port is public; metrics describe the whole pool). By default the whole API pool:
 * counters and histograms summed over every live API process (snapshots shared through Redis),
 * plus pool gauges sampled now; `?scope=process` answers with this process alone.
 */
export function createMetricsApp() {
  const app = createRouter();
  app.get("/metrics", async (c) => {
    const query = MetricsQuery.safeParse(c.req.query());
    if (!query.success) throw validationError(query.error.issues, "query");
    return c.text(await metricsText(query.data.scope), 200, { "content-type": registry.contentType });
  });
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.notFound((c) => c.text("not found", 404));
  app.onError(handleError);
  return app;
}
