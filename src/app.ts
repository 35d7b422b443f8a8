import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { config } from "./config";
import { DomainError, ErrorCode } from "./domain/errors";
import { compressJson } from "./http/compression";
import { handleError } from "./http/error-handler";
import { OPENAPI_CONFIG, registerSecuritySchemes } from "./http/openapi";
import { problemResponse } from "./http/problem";
import { rateLimit } from "./http/rate-limit";
import { requestContext } from "./http/request-context";
import { type AppEnv, createRouter } from "./http/router";
import { useTokenUserLoader } from "./http/tokens";
import { adminRouter } from "./modules/admin";
import { analyticsRouter } from "./modules/analytics";
import { authRouter } from "./modules/auth";
import { bookingsRouter } from "./modules/bookings";
import { docsRouter } from "./modules/docs";
import { eventsRouter } from "./modules/events";
import { holdsRouter } from "./modules/holds";
import { liveRouter } from "./modules/live";
import { opsRouter } from "./modules/ops";
import { usersRouter } from "./modules/users";
import { loadTokenUser } from "./modules/users/users.service";
import { waitlistRouter } from "./modules/waitlist";
import { webhooksRouter } from "./modules/webhooks";

export const API_PREFIX = "/api/v1";
const MAX_BODY_BYTES = 1024 * 1024;

/** Builds the whole HTTP API. Pure: no listening, no connections opened here. */
export function createApp(): OpenAPIHono<AppEnv> {
  useTokenUserLoader(loadTokenUser);
  const app = createRouter();

  app.use("*", requestContext);
  app.use("*", compressJson(config.COMPRESS_MIN_BYTES));
  // Before the body is read, so a refused client costs one Redis call and nothing more.
  if (config.RATE_LIMIT_ENABLED) app.use("*", rateLimit);
  // Only where a body can come: a GET then skips one middleware layer.
  app.on(
    ["POST", "PUT", "PATCH", "DELETE"],
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new DomainError(ErrorCode.BODY_TOO_LARGE, "The request body is larger than 1 MiB.");
      },
    }),
  );

  app.route("/", opsRouter);
  app.route("/", docsRouter);
  app.route("/", adminRouter);
  app.route(API_PREFIX, authRouter);
  app.route(API_PREFIX, usersRouter);
  app.route(API_PREFIX, bookingsRouter);
  app.route(API_PREFIX, eventsRouter);
  app.route(API_PREFIX, liveRouter);
  app.route(API_PREFIX, waitlistRouter);
  app.route(API_PREFIX, holdsRouter);
  app.route(API_PREFIX, analyticsRouter);
  app.route(API_PREFIX, webhooksRouter);

  registerSecuritySchemes(app);
  app.doc31("/openapi.json", OPENAPI_CONFIG as unknown as Parameters<typeof app.doc31>[1]);

  app.notFound((c) => notFoundOrWrongMethod(app, c));
  app.onError(handleError);
  return app;
}

/** Hono answers 404 for a known path with another method; we say 405 with an Allow header. */
function notFoundOrWrongMethod(app: OpenAPIHono<AppEnv>, c: Context<AppEnv>): Response {
  const allowed = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL" || route.path.includes("*")) continue;
    if (routePattern(route.path).test(c.req.path)) allowed.add(route.method);
  }
  const requestId = c.get("requestId");
  if (allowed.size > 0 && !allowed.has(c.req.method)) {
    const err = new DomainError(ErrorCode.METHOD_NOT_ALLOWED, `${c.req.method} is not allowed on this path.`);
    return problemResponse(err, requestId, { allow: [...allowed].join(", ") });
  }
  return problemResponse(
    new DomainError(ErrorCode.NOT_FOUND, `No route for ${c.req.method} ${c.req.path}.`),
    requestId,
  );
}

const patternCache = new Map<string, RegExp>();
function routePattern(path: string): RegExp {
  let re = patternCache.get(path);
  if (!re) {
    const source = path
      .split("/")
      .map((part) => (part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/");
    re = new RegExp(`^${source}/?$`);
    patternCache.set(path, re);
  }
  return re;
}
