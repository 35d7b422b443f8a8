import { describe, expect, it } from "bun:test";
import path from "node:path";
import { api, metricsApp } from "../support/http";
import { runAppInFreshProcess } from "../support/processes";

const _root = path.resolve(import.meta.dir, "../..");

/** Runs GET /ready in a fresh process whose pools point wherever `env` says. */
function readyIn(env: Record<string, string>) {
  return runAppInFreshProcess<{ status: number; ms: number; body: any }>(
    `const t = performance.now();
    const res = await app.request("/ready");
    return { status: res.status, ms: performance.now() - t, body: await res.json() };`,
    env,
  );
}

describe("operations", () => {
  it("answers /health without dependencies", async () => {
    const res = await api("GET", "/health");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok" });
  });

  it("reports ready when PostgreSQL and Redis answer", async () => {
    const res = await api("GET", "/ready");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: "ok", postgres: "ok", redis: "ok", replica: "none" });
  });

  it("answers 503 problem quickly when PostgreSQL is unreachable", async () => {
    const res = await readyIn({ DATABASE_URL: "postgres://postgres@127.0.0.1:1/nowhere" });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe("SERVICE_UNAVAILABLE");
    expect(res.ms).toBeLessThan(3_000);
  });

  it("reports redis degraded, still 200, when only Redis is unreachable", async () => {
    const res = await readyIn({ REDIS_URL: "redis://127.0.0.1:1/0" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "degraded", postgres: "ok", redis: "degraded" });
    expect(res.ms).toBeLessThan(2_000);
  });

  it("serves Prometheus metrics that count requests by route template", async () => {
    await api("GET", "/api/v1/users/12345");
    const res = await metricsApp.request("/metrics");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('http_requests_total{method="GET",route="/api/v1/users/:id",status="401"}');
    expect(text).toContain("http_request_duration_seconds_bucket");
  });
});
