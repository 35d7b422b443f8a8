import { afterAll } from "bun:test";
import { createEventlyClient, type EventlyClient, logIn, type Schemas } from "@evently/client";
import { createApp } from "../../src/app";
import { signAccessToken } from "../../src/http/tokens";
import { ensureAdmin } from "../../src/modules/auth/auth.service";
import { createMetricsApp } from "../../src/modules/ops";
import { insertUser } from "../../src/modules/users/users.repo";
import { sql } from "../../src/platform/db";
import { responseViolations, startContractProxy } from "./contract-proxy";

export const app = createApp();
/** What METRICS_PORT serves, in process. */
export const metricsApp = createMetricsApp();

/**
 * How requests reach the API. In-process (`app.request`) by default. With TEST_THROUGH_PRISM=1
 * (tests/api/contract.test.ts sets it) every request goes over HTTP through Prism to a real API
 * process, and an answer that does not match the OpenAPI document fails the request.
 */
const proxy =
  process.env.TEST_THROUGH_PRISM === "1"
    ? await startContractProxy(await (await app.request("/openapi.json")).text())
    : undefined;
if (proxy) afterAll(() => proxy.stop());

/**
 * Prometheus text of whatever serves this test's requests (`scope` as on METRICS_PORT): this
 * process, or through Prism the API process behind it.
 */
export async function metricsText(scope: "pool" | "process" = "pool"): Promise<string> {
  if (proxy) return (await fetch(`${proxy.metricsUrl}/metrics?scope=${scope}`)).text();
  return (await metricsApp.request(`/metrics?scope=${scope}`)).text();
}

async function transport(request: Request): Promise<Response> {
  if (!proxy) return app.request(request);
  const url = new URL(request.url);
  const body = request.body ? await request.text() : undefined;
  // Prism never answers a request whose JSON body does not parse: that one goes straight to the API.
  const base = unparsableJson(request.headers, body) ? proxy.apiUrl : proxy.url;
  const res = await fetch(`${base}${url.pathname}${url.search}`, {
    method: request.method,
    headers: request.headers,
    body,
    redirect: "manual",
  });
  const violations = responseViolations(res);
  if (violations.length > 0) {
    throw new Error(
      `${request.method} ${url.pathname} answered ${res.status} against the document: ${JSON.stringify(violations)}`,
    );
  }
  return res;
}

function unparsableJson(headers: Headers, body: string | undefined): boolean {
  if (!body || !(headers.get("content-type") ?? "").includes("json")) return false;
  try {
    JSON.parse(body);
    return false;
  } catch {
    return true;
  }
}

/**
 * The typed client (packages/client) talking to the in-process app: what the OpenAPI document
 * promises is what the compiler checks here. `api()` below stays for raw cases (malformed
 * bodies, odd headers, undocumented paths).
 */
export const client: EventlyClient = createEventlyClient({ baseUrl: "http://evently.test", fetch: transport });

/** The typed client signed in with `token`. */
export function clientAs(token: string): EventlyClient {
  return createEventlyClient({ baseUrl: "http://evently.test", fetch: transport, token: () => token });
}

/** The answer's data, or an error naming the operation's status and problem. */
export function expectData<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.data === undefined) {
    throw new Error(`${what} failed: ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

/** One in-process HTTP request through the real app (real PostgreSQL and Redis behind it). */
export async function api<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(opts.form).toString();
  } else if (opts.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  }
  const res = await transport(new Request(`http://evently.test${path}`, { method, headers, body }));
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: res.status, body: parsed as T, headers: res.headers, text };
}

let counter = 0;
export const uniqueEmail = (label = "user") => `${label}-${Date.now()}-${++counter}@example.test`;

/** Registers a user over HTTP and logs in; returns its token and id. */
export async function registerAndLogin(
  label = "user",
): Promise<{ id: number; email: string; password: string; token: string }> {
  const email = uniqueEmail(label);
  const password = "correct-horse-1";
  const user = expectData(
    await client.POST("/api/v1/auth/register", { body: { email, password, full_name: label } }),
    "register",
  );
  const { access_token } = expectData(await logIn(client, email, password), "login");
  return { id: user.id, email, password, token: access_token };
}

export async function adminToken(): Promise<{ id: number; token: string }> {
  const email = uniqueEmail("admin");
  await ensureAdmin(email, "admin-password-1", { resetPassword: false });
  const { access_token } = expectData(await logIn(client, email, "admin-password-1"), "admin login");
  const me = expectData(await clientAs(access_token).GET("/api/v1/users/me"), "GET /users/me");
  return { id: me.id, token: access_token };
}

export type EventDto = Schemas["Event"];

/** Many users at once, straight through the repo (bcrypt per user would dominate big races). */
export async function manyUsers(n: number, label = "crowd"): Promise<{ id: number; token: string }[]> {
  const hash = "$2b$04$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z3ZJkBd0S2V1s5P4vYQxgkKW";
  return Promise.all(
    Array.from({ length: n }, async () => {
      const row = await insertUser(sql, {
        email: uniqueEmail(label),
        fullName: null,
        hashedPassword: hash,
        isAdmin: false,
      });
      if (!row) throw new Error("insert failed");
      return { id: row.id, token: await signAccessToken(row) };
    }),
  );
}
