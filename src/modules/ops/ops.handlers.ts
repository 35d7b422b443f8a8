import { DomainError, ErrorCode } from "../../domain/errors";
import type { AppRouteHandler } from "../../http/router";
import { registry } from "../../platform/metrics";
import { metricsText } from "./ops.metrics";
import type * as routes from "./ops.routes";
import { checkReadiness } from "./ops.service";

export const handleHealth: AppRouteHandler<typeof routes.healthRoute> = (c) => c.json({ status: "ok" as const }, 200);

export const handleReady: AppRouteHandler<typeof routes.readyRoute> = async (c) => {
  const state = await checkReadiness();
  if (state.postgres === "down") {
    throw new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "PostgreSQL is unreachable.", { retryAfterSeconds: 5 });
  }
  return c.json(state, 200);
};

export const handleMetrics: AppRouteHandler<typeof routes.metricsRoute> = async (c) => {
  const scope = c.req.valid("query").scope;
  return c.text(await metricsText(scope), 200, { "content-type": registry.contentType });
};
