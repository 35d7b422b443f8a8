import { DomainError, ErrorCode } from "../../domain/errors";
import type { AppRouteHandler } from "../../http/router";
import type * as routes from "./ops.routes";
import { readiness } from "./ops.service";

export const handleHealth: AppRouteHandler<typeof routes.healthRoute> = (c) => c.json({ status: "ok" as const }, 200);

export const handleReady: AppRouteHandler<typeof routes.readyRoute> = async (c) => {
  const state = await readiness();
  if (state.postgres === "down") {
    throw new DomainError(ErrorCode.SERVICE_UNAVAILABLE, "PostgreSQL is unreachable.", { retryAfterSeconds: 5 });
  }
  return c.json(state, 200);
};
