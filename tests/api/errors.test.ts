import { describe, expect, it } from "bun:test";
import { createApp } from "../../src/app";
import { api } from "../support/http";

const expectProblem = (res: { status: number; headers: Headers; body: any }, status: number, code: string) => {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  expect(res.body).toMatchObject({ status, code });
  expect(typeof res.body.type).toBe("string");
  expect(typeof res.body.title).toBe("string");
  expect(typeof res.body.detail).toBe("string");
};

describe("problem+json errors", () => {
  it("answers malformed JSON with 400 MALFORMED_JSON", async () => {
    const res = await api("POST", "/api/v1/auth/register", { body: '{"email": "x@y.z",' });
    expectProblem(res, 400, "MALFORMED_JSON");
  });

  it("answers a body over 1 MiB with 413", async () => {
    const big = JSON.stringify({ email: "a@b.c", password: "x".repeat(1024 * 1024 + 10) });
    expectProblem(await api("POST", "/api/v1/auth/register", { body: big }), 413, "BODY_TOO_LARGE");
  });

  it("lists every missing field with 422 VALIDATION_FAILED", async () => {
    const res = await api("POST", "/api/v1/auth/register", { body: {} });
    expectProblem(res, 422, "VALIDATION_FAILED");
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(["json.email", "json.password"]);
  });

  it("answers an unknown route with 404 and a wrong method with 405 and Allow", async () => {
    expectProblem(await api("GET", "/api/v1/nope"), 404, "NOT_FOUND");
    const wrong = await api("DELETE", "/api/v1/auth/register");
    expectProblem(wrong, 405, "METHOD_NOT_ALLOWED");
    expect(wrong.headers.get("allow")).toBe("POST");
  });

  it("answers an unsupported content type with 415", async () => {
    const res = await api("POST", "/api/v1/auth/register", {
      body: "email=a",
      headers: { "content-type": "text/plain" },
    });
    expectProblem(res, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("never shows a stack, SQL or driver message in a 500", async () => {
    const app = createApp();
    app.get("/boom", () => {
      throw new Error('relation "users" does not exist at select * from users');
    });
    const res = await app.request("/boom");
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(text).not.toContain("select");
    expect(text).not.toContain("relation");
    expect(text).not.toContain("at ");
    expect(JSON.parse(text).code).toBe("INTERNAL_ERROR");
  });

  it("echoes a sane X-Request-Id and makes one up otherwise", async () => {
    const echoed = await api("GET", "/health", { headers: { "x-request-id": "abc-123" } });
    expect(echoed.headers.get("x-request-id")).toBe("abc-123");
    const fresh = await api("GET", "/health", { headers: { "x-request-id": "bad id with spaces" } });
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
