import { OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { Context, Next } from "hono";
import type { AuthUser } from "../domain/auth-user";
import { DomainError, ErrorCode, type FieldError } from "../domain/errors";
import { completeRoute } from "./openapi";

export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set when the response was built with X-Request-Id already in it. */
    requestIdSent?: boolean;
    /** X-RateLimit-* of this request (rate-limit.ts), for handlers that build their response whole. */
    rateLimitHeaders?: Record<string, string>;
    /** Set when the response was built with those headers already in it. */
    rateLimitSent?: boolean;
    user?: AuthUser;
  };
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

interface ZodLikeIssue {
  path: PropertyKey[];
  message: string;
}

export function toFieldErrors(issues: readonly ZodLikeIssue[], target?: string): FieldError[] {
  return issues.map((issue) => ({
    field: [target, ...issue.path.map(String)].filter(Boolean).join("."),
    message: issue.message,
  }));
}

export function validationError(issues: readonly ZodLikeIssue[], target?: string): DomainError {
  return new DomainError(ErrorCode.VALIDATION_FAILED, "The request is not valid.", {
    errors: toFieldErrors(issues, target),
  });
}

/**
 * Every router is built here, so every validation failure is the same 422 problem and every
 * operation is documented the same way (completeRoute: security, implied error responses).
 */
export function createRouter() {
  const router = new OpenAPIHono<AppEnv>({
    // The seed's clients call both /events/ and /events: a trailing slash never matters.
    strict: false,
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error.issues, result.target);
    },
  });
  checkPathOnlyRoutesInline(router);
  completeEveryRoute(router);
  return router;
}

/** Runs before the inline check, so both the served route and its document are the completed one. */
function completeEveryRoute(router: OpenAPIHono<AppEnv>): void {
  const register = router.openapi as (...args: unknown[]) => unknown;
  const completed = (route: RouteConfig, ...rest: unknown[]) => register(completeRoute(route), ...rest);
  router.openapi = completed as unknown as Register;
}

type Register = OpenAPIHono<AppEnv>["openapi"];
type AnyHandler = (c: Context<AppEnv>, next: Next) => unknown;

/**
 * Routes whose only input is the path (`GET /events/{id}`, `DELETE /bookings/cancel/{id}`) check
 * it in the handler's own call, with a synchronous safeParse, instead of through zod-openapi's
 * async validator middleware: one middleware layer less on the hottest reads (docs/benchmark.md
 * says how that is measured). Same schema, same 422 problem, same
 * `c.req.valid("param")` in the handler, same OpenAPI document. Routes with a query, body or
 * headers keep the library's validators, in the library's order.
 */
function checkPathOnlyRoutesInline(router: OpenAPIHono<AppEnv>): void {
  const register = router.openapi;
  const inlined = (route: RouteConfig & { hide?: boolean }, handler: AnyHandler, hook?: unknown) => {
    const { params, ...otherInputs } = route.request ?? {};
    const plain = !params || hook !== undefined || route.hide || Object.keys(otherInputs).length > 0;
    if (plain) return (register as (...args: unknown[]) => unknown)(route, handler, hook);
    const { middleware: _middleware, ...documented } = route;
    router.openAPIRegistry.registerPath(documented);
    const checked: AnyHandler = (c, next) => {
      const result = params.safeParse(c.req.param());
      if (!result.success) throw validationError(result.error.issues, "param");
      c.req.addValidatedData("param", result.data as Record<string, unknown>);
      return handler(c, next);
    };
    return (register as (...args: unknown[]) => unknown)({ ...route, hide: true, request: undefined }, checked);
  };
  router.openapi = inlined as unknown as Register;
}

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A JSON array page whose total count is in X-Total-Count. */
export const pagedJsonContent = <T extends z.ZodType>(item: T, description: string) => ({
  ...jsonContent(z.array(item), `${description}; the total is in X-Total-Count`),
  headers: { "X-Total-Count": { schema: { type: "integer" as const } } },
});

/** A positive 64-bit-safe integer path id; anything else is a 422, never a 500. */
export const idParam = (name: string) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name, in: "path" }, example: 1 });
