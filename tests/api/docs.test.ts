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
