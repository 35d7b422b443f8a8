import { type OpenAPIHono, type RouteConfig, z } from "@hono/zod-openapi";
import type { AppEnv } from "./router";

/**
 * The OpenAPI document is a contract: clients are generated from it (packages/client) and a
 * test replays traffic through a validator against it. So every operation must carry a stable
 * operationId and a summary, declare its security (`[]` when public) and every error it can
 * answer. The errors that follow from a route's shape (a body, inputs, a token, an admin) are
 * added here, once, instead of being remembered in each route file.
 */

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().openapi({ example: "SEAT_ALREADY_BOOKED" }),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    request_id: z.string().optional(),
  })
  .openapi("Problem");

const problemDescriptions: Record<number, string> = {
  400: "Malformed request (unparsable body)",
  401: "Missing, invalid or expired token",
  403: "Not allowed for this user",
  404: "Not found",
  409: "Conflict with the current state",
  413: "Request body larger than 1 MiB",
  415: "Content-Type not accepted here",
  422: "Validation failed",
  429: "Too many requests (Retry-After says when to try again)",
  500: "Internal error (quote the request id)",
  503: "A dependency is unavailable (Retry-After says when to try again)",
};

type ProblemEntries = Record<
  number,
  { description: string; content: Record<string, { schema: typeof ProblemSchema }> }
>;

/** problem+json response entries for the given statuses: the domain errors a route can answer. */
export function problems(...statuses: number[]): ProblemEntries {
  const entries: ProblemEntries = {};
  for (const status of statuses) {
    entries[status] = {
      description: problemDescriptions[status] ?? "Error",
      content: { "application/problem+json": { schema: ProblemSchema } },
    };
  }
  return entries;
}

/** Role required on top of a valid token; declared as the security requirement's role list. */
export const ADMIN_ROLE = "admin";

export const bearerSecurity: Record<string, string[]>[] = [{ bearerAuth: [] }, { oauth2Password: [] }];
export const adminSecurity: Record<string, string[]>[] = [
  { bearerAuth: [ADMIN_ROLE] },
  { oauth2Password: [ADMIN_ROLE] },
];
/** A token is optional (`{}`), but one that is sent must be valid. */
export const optionalSecurity: Record<string, string[]>[] = [{}, ...bearerSecurity];

// Paths the rate limiter skips (src/http/rate-limit.ts) and paths that touch no dependency.
const NOT_RATE_LIMITED = new Set(["/health", "/ready", "/metrics"]);
const DEPENDENCY_FREE = new Set(["/health"]);

type DocumentedRoute = RouteConfig & { hide?: boolean };

/** Fills in what follows from the route's shape; refuses a route without operationId or summary. */
export function completeRoute<R extends DocumentedRoute>(route: R): R {
  if (route.hide) return route;
  if (!route.operationId || !route.summary) {
    throw new Error(`${route.method.toUpperCase()} ${route.path}: every operation needs an operationId and a summary`);
  }
  const security = route.security ?? [];
  const needsToken = security.some((req) => Object.keys(req).length > 0);
  const needsAdmin =
    security.length > 0 && security.every((req) => Object.values(req).some((r) => r.includes(ADMIN_ROLE)));
  const request = route.request ?? {};
  const hasInput = Object.values(request).some(Boolean);
  const takesBody = ["post", "put", "patch", "delete"].includes(route.method);
  const implied = [
    ...(request.body ? [400] : []),
    ...(needsToken ? [401] : []),
    ...(needsAdmin ? [403] : []),
    ...(takesBody ? [413] : []),
    ...(request.body ? [415] : []),
    ...(hasInput ? [422] : []),
    ...(NOT_RATE_LIMITED.has(route.path) ? [] : [429]),
    500,
    ...(DEPENDENCY_FREE.has(route.path) ? [] : [503]),
  ];
  return {
    ...route,
    security,
    responses: { ...problems(...implied.filter((s) => !(s in route.responses))), ...route.responses },
  };
}

/**
 * Documents another path for an operation the router already serves (the router is not strict
 * about a trailing slash, so `/events/` reaches `/events`): the seed's clients call these exact
 * URLs, and a validator must find them in the document rather than match them to `/events/{id}`.
 */
export function documentAlias(
  router: OpenAPIHono<AppEnv>,
  route: DocumentedRoute,
  alias: { path: string; operationId: string },
): void {
  const { middleware: _middleware, hide: _hide, ...documented } = completeRoute(route);
  router.openAPIRegistry.registerPath({
    ...documented,
    ...alias,
    summary: `${route.summary} (at ${alias.path})`,
    description: `${route.description ? `${route.description} ` : ""}Same operation as \`${route.method.toUpperCase()} ${route.path}\`; this trailing-slash form is what older clients call.`,
  });
}

export const OPENAPI_CONFIG = {
  openapi: "3.1.0",
  info: {
    title: "Evently API",
    version: "1.0.0",
    description:
      "Event booking that never sells a seat twice. Errors are RFC 9457 problem+json with a stable `code`. A trailing slash on a path is accepted.",
    license: { name: "Proprietary", identifier: "LicenseRef-Evently" },
  },
  // Relative: the docs pages and the client call whichever host served the document.
  servers: [{ url: "/", description: "The server this document came from" }],
  tags: [
    { name: "Auth", description: "Accounts and tokens (OAuth2 password flow)" },
    { name: "Users", description: "The caller's account; accounts (admin)" },
    { name: "Events", description: "Events and their seats" },
    { name: "Bookings", description: "Booking and cancelling seats" },
    { name: "Waitlist", description: "Waitlists of sold-out events" },
    { name: "Holds", description: "Checkout holds: seats held for a while, then confirmed into bookings" },
    { name: "Analytics", description: "Figures for admins" },
    { name: "Webhooks", description: "Signed deliveries of bookings, holds, waitlist and event changes (admin)" },
    { name: "Operations", description: "Liveness, readiness, metrics" },
  ],
} as const;

export function registerSecuritySchemes(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A token from POST /api/v1/auth/token",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "oauth2Password", {
    type: "oauth2",
    description: "Sign in with e-mail (as `username`) and password; the answer's access_token is a bearer token.",
    flows: {
      password: {
        tokenUrl: "/api/v1/auth/token",
        scopes: { [ADMIN_ROLE]: "Admin-only operations (an admin account; tokens carry no scopes)" },
      },
    },
  });
}

/** The document as /openapi.json serves it, built without a request (for the client generator). */
export function openApiDocument(app: OpenAPIHono<AppEnv>) {
  return app.getOpenAPI31Document(OPENAPI_CONFIG as unknown as Parameters<typeof app.getOpenAPI31Document>[0]);
}
