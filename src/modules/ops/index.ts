import { z } from "@hono/zod-openapi";
import { handleError } from "../../http/error-handler";
import { createRouter, validationError } from "../../http/router";
import { registry } from "../../platform/metrics";
import * as h from "./ops.handlers";
import { metricsText } from "./ops.metrics";
import * as routes from "./ops.routes";

export const opsRouter = createRouter()
  .openapi(routes.healthRoute, h.handleHealth)
  .openapi(routes.readyRoute, h.handleReady);

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
