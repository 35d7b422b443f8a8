import { createApp } from "../../src/app";
import { signAccessToken } from "../../src/http/tokens";
import { ensureAdmin } from "../../src/modules/auth/auth.service";
import { createMetricsApp } from "../../src/modules/ops";
import { insertUser } from "../../src/modules/users/users.repo";
import { sql } from "../../src/platform/db";

export const app = createApp();
/** What METRICS_PORT serves, in process. */
export const metricsApp = createMetricsApp();

/** Prometheus text for this test process (`scope` as on METRICS_PORT: pool or process). */
export async function metricsText(scope: "pool" | "process" = "pool"): Promise<string> {
  return (await metricsApp.request(`/metrics?scope=${scope}`)).text();
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
  const res = await app.request(path, { method, headers, body });
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
  const reg = await api("POST", "/api/v1/auth/register", { body: { email, password, full_name: label } });
  if (reg.status !== 201) throw new Error(`register failed: ${reg.status} ${reg.text}`);
  const login = await api("POST", "/api/v1/auth/token", { form: { username: email, password } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  return { id: reg.body.id, email, password, token: login.body.access_token };
}

export async function adminToken(): Promise<{ id: number; token: string }> {
  const email = uniqueEmail("admin");
  await ensureAdmin(email, "admin-password-1", { resetPassword: false });
  const login = await api("POST", "/api/v1/auth/token", { form: { username: email, password: "admin-password-1" } });
  const me = await api("GET", "/api/v1/users/me", { token: login.body.access_token });
  return { id: me.body.id, token: login.body.access_token };
}

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
