import { OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { Context, Next } from "hono";
import type { AuthUser } from "../domain/auth-user";
import { DomainError, ErrorCode, type FieldError } from "../domain/errors";

export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set when the response was built with X-Request-Id already in it. */
    requestIdSent?: boolean;
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

/** Every router is built here, so every validation failure is the same 422 problem. */
export function createRouter() {
  const router = new OpenAPIHono<AppEnv>({
    // The seed's clients call both /events/ and /events: a trailing slash never matters.
    strict: false,
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error.issues, result.target);
    },
  });
  checkPathOnlyRoutesInline(router);
  return router;
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
  400: "Malformed request",
  401: "Missing, invalid or expired token",
  403: "Not allowed for this user",
  404: "Not found",
  409: "Conflict with the current state",
  413: "Request body too large",
  422: "Validation failed",
  429: "Too many requests",
  503: "A dependency is unavailable",
};

/** OpenAPI response entries for the given error statuses, all problem+json; 422, 429 (rate limit) and 500 on every route. */
export function problems(...statuses: number[]) {
  const entries: Record<number, { description: string; content: Record<string, { schema: typeof ProblemSchema }> }> =
    {};
  for (const status of [...statuses, 422, 429, 500]) {
    entries[status] = {
      description: problemDescriptions[status] ?? "Internal error",
      content: { "application/problem+json": { schema: ProblemSchema } },
    };
  }
  return entries;
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

export const bearerSecurity: Record<string, string[]>[] = [{ bearerAuth: [] }];

/** A positive 64-bit-safe integer path id; anything else is a 422, never a 500. */
export const idParam = (name: string) =>
  z.coerce
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .openapi({ param: { name, in: "path" }, example: 1 });
