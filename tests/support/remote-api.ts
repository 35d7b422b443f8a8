import type { ApiResponse } from "./http";

/**
 * Requests to an API over real HTTP (a process group, a gateway, another host), one connection per
 * request (`connection: close`) so that the kernel spreads them over the processes sharing a port.
 * A refused or reset connection resolves to status 0 with the error text, never throws.
 */
export async function remote<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { connection: "close", ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = JSON.stringify(opts.body);
  }
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    return { status: 0, body: undefined as T, headers: new Headers(), text };
  }
}
