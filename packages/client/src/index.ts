import createClient, { type Client } from "openapi-fetch";
import type { components, operations, paths } from "./schema";

/**
 * The Evently API's typed client: openapi-fetch over the types generated from the API's OpenAPI
 * document (src/schema.ts). Paths, parameters, bodies and answers — problem+json errors included
 * — are checked by the compiler against what the API documents.
 */

export type { components, operations, paths };
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type EventlyClient = Client<paths>;

export interface EventlyClientOptions {
  /** Where the API is: "" in a page served by the API itself, else e.g. "http://127.0.0.1:3000". */
  baseUrl?: string;
  /** Read before every request, so a client outlives a token change (sign-in, sign-out). */
  token?: () => string | null | undefined;
  /** Another transport (tests pass the in-process app's `request`). */
  fetch?: (request: Request) => Promise<Response>;
}

export function createEventlyClient(options: EventlyClientOptions = {}): EventlyClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl ?? "", fetch: options.fetch });
  const { token } = options;
  if (token) {
    client.use({
      onRequest({ request }) {
        const value = token();
        if (value && !request.headers.has("authorization")) request.headers.set("authorization", `Bearer ${value}`);
        return request;
      },
    });
  }
  return client;
}

/** The OAuth2 password form of POST /api/v1/auth/token: e-mail as `username`. */
export function logIn(client: EventlyClient, email: string, password: string) {
  return client.POST("/api/v1/auth/token", {
    body: { username: email, password },
    bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
}
