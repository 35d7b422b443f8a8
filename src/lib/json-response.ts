import type { Context, TypedResponse } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { JSONParsed } from "hono/utils/types";
import type { Json } from "./cache-keys";

/**
 * Sends JSON text produced earlier (by the cache) as the body, without parsing and re-serialising
 * it. Typed like `c.json(value)`, so the route's response schema still checks the handler.
 */
export function sendJson<T, U extends ContentfulStatusCode = 200>(
  c: Context,
  body: Json<T>,
  status?: U,
): Response & TypedResponse<JSONParsed<T>, U, "json"> {
  const res: Response = c.body(body, status ?? 200, { "content-type": "application/json" });
  return res as Response & TypedResponse<JSONParsed<T>, U, "json">;
}
