import { describe, expect, it } from "bun:test";
import { api, app } from "../support/http";

describe("API documentation", () => {
  it("serves OpenAPI 3.1 with the bearer scheme and every route", async () => {
    const res = await api("GET", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    expect(res.body.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries(res.body.paths as Record<string, object>)) {
      for (const method of Object.keys(ops))
        documented.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`);
    }
    const undocumented = app.routes
      .filter(
        // Middleware is registered on "*" paths (for ALL methods, or for those with a body).
        (r) =>
          r.method !== "ALL" &&
          !r.path.includes("*") &&
          !r.path.startsWith("/docs") &&
          !r.path.startsWith("/admin") &&
          !["/swagger", "/openapi.json"].includes(r.path),
      )
      .map((r) => `${r.method} ${r.path}`)
      .filter((r) => !documented.has(r));
    expect(undocumented).toEqual([]);
  });

  it("documents problem responses on every route", async () => {
    const res = await api("GET", "/openapi.json");
    for (const [path, ops] of Object.entries(res.body.paths as Record<string, Record<string, any>>)) {
      if (["/health", "/metrics"].includes(path)) continue;
      for (const op of Object.values(ops)) expect(Object.keys(op.responses)).toContain("500");
    }
  });

  const operations = async () => {
    const res = await api("GET", "/openapi.json");
    const ops: { key: string; path: string; op: any }[] = [];
    for (const [path, item] of Object.entries(res.body.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(item)) ops.push({ key: `${method.toUpperCase()} ${path}`, path, op });
    }
    return { doc: res.body, ops };
  };

  it("gives every operation a unique operationId, a summary, a tag and declared security", async () => {
    const { ops } = await operations();
    const ids = ops.map((o) => o.op.operationId);
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { key, op } of ops) {
      expect({ key, summary: typeof op.summary, tags: op.tags?.length, security: Array.isArray(op.security) }).toEqual({
        key,
        summary: "string",
        tags: 1,
        security: true,
      });
    }
  });

  it("declares the errors that follow from each operation's shape", async () => {
    const { ops } = await operations();
    for (const { key, op } of ops) {
      const statuses = Object.keys(op.responses);
      const needsToken = op.security.some((req: object) => Object.keys(req).length > 0);
      const adminOnly =
        op.security.length > 0 && op.security.every((req: object) => JSON.stringify(req).includes("admin"));
      const expected = [
        ...(op.requestBody ? ["400", "422"] : []),
        ...(op.parameters?.length ? ["422"] : []),
        ...(needsToken ? ["401"] : []),
        ...(adminOnly ? ["403"] : []),
        "500",
      ];
      for (const status of expected)
        expect(`${key} ${status}`).toBe(`${key} ${statuses.includes(status) ? status : "missing"}`);
      // redocly.yaml turns operation-4xx-response off for these two only.
      if (!["GET /health", "GET /ready"].includes(key)) expect(statuses.some((s) => s.startsWith("4"))).toBe(true);
    }
  });

  it("documents exactly the seed's three trailing-slash URLs, each as an operation of its own", async () => {
    const { ops } = await operations();
    const slashed = ops.filter((o) => o.path.endsWith("/")).map((o) => `${o.key} ${o.op.operationId}`);
    expect(slashed.sort()).toEqual([
      "GET /api/v1/bookings/ listMyBookingsAtSlash",
      "GET /api/v1/events/ listEventsAtSlash",
      "POST /api/v1/events/ createEventAtSlash",
    ]);
  });

  it("declares servers and the OAuth2 password flow on the token endpoint beside the bearer scheme", async () => {
    const { doc } = await operations();
    expect(doc.servers).toEqual([expect.objectContaining({ url: "/" })]);
    expect(doc.components.securitySchemes.oauth2Password).toMatchObject({
      type: "oauth2",
      flows: { password: { tokenUrl: "/api/v1/auth/token" } },
    });
    const login = await api("POST", "/api/v1/auth/token", {
      // What Swagger UI's Authorize sends for the password flow.
      form: { grant_type: "password", username: "nobody@example.test", password: "wrong-password", scope: "" },
    });
    expect(login.status).toBe(401);
  });

  it("turns off the docs pages' cloud-only features (AI agent, MCP, telemetry, online validator)", async () => {
    const scalar = (await api("GET", "/docs")).text;
    for (const option of ['"telemetry":false', '"agent":{"disabled":true}', '"mcp":{"disabled":true}'])
      expect(scalar).toContain(option);
    expect(scalar).toContain('"showDeveloperTools":"never"');
    expect((await api("GET", "/swagger")).text).toContain('"validatorUrl":null');
  });

  for (const page of ["/docs", "/swagger"]) {
    it(`serves ${page} with every asset from this server`, async () => {
      const res = await api("GET", page);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(res.text).not.toMatch(/https?:\/\//);
      const assets = [...res.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
      expect(assets.length).toBeGreaterThan(0);
      for (const asset of assets) {
        const a = await app.request(asset);
        expect(a.status).toBe(200);
        expect((await a.arrayBuffer()).byteLength).toBeGreaterThan(1000);
      }
    });
  }
});
