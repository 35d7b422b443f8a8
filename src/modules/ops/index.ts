import { createRouter } from "../../http/router";
import * as h from "./ops.handlers";
import * as routes from "./ops.routes";

export const opsRouter = createRouter()
  .openapi(routes.healthRoute, h.handleHealth)
  .openapi(routes.readyRoute, h.handleReady)
  .openapi(routes.metricsRoute, h.handleMetrics);
