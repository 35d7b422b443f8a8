import type { Context, TypedResponse } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";
import type { Json } from "../cache";
import type { AppEnv } from "./router";

/**
 * Sends JSON text produced earlier (by the cache) as the body, without parsing and re-serialising
 * it. Typed like `c.json(value)`, so the route's response schema still checks the handler.
 */
export function sendJson<T, U extends ContentfulStatusCode = 200>(
  c: Context<AppEnv>,
  body: Json<T>,
  status?: U,
): Response & TypedResponse<JSONParsed<T>, U, "json"> {
  // Headers as a plain object, built once: cheaper than Hono merging them into a Headers object.
  const limits = c.get("rateLimitHeaders");
  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": c.get("requestId") };
  if (limits) {
    Object.assign(headers, limits);
    c.set("rateLimitSent", true);
  }
  const res = new Response(body, { status: status ?? 200, headers });
  c.set("requestIdSent", true);
  return res as Response & TypedResponse<JSONParsed<T>, U, "json">;
}
