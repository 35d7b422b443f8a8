import path from "node:path";
import { Hono } from "hono";
import type { AppEnv } from "../../http/router";

/**
 * Scalar (/docs) and Swagger UI (/swagger), with their JS/CSS served from installed packages
 * so both pages work with no internet access.
 */
const moduleDir = (pkg: string) => path.dirname(Bun.resolveSync(`${pkg}/package.json`, import.meta.dir));
const scalarDir = path.join(moduleDir("@scalar/api-reference"), "dist/browser");
const swaggerDir = moduleDir("swagger-ui-dist");

const assets: Record<string, { file: string; type: string }> = {
  "scalar.js": { file: path.join(scalarDir, "standalone.js"), type: "text/javascript; charset=utf-8" },
  "swagger-ui-bundle.js": {
    file: path.join(swaggerDir, "swagger-ui-bundle.js"),
    type: "text/javascript; charset=utf-8",
  },
  "swagger-ui.css": { file: path.join(swaggerDir, "swagger-ui.css"), type: "text/css; charset=utf-8" },
};

/**
 * Everything that needs Scalar's or Swagger's cloud is off: Scalar's AI agent, MCP generation,
 * telemetry and developer toolbar (share/deploy to its registry), Swagger's online validator
 * badge. "Authorize" uses the document's OAuth2 password flow against our own token endpoint.
 */
export const SCALAR_OPTIONS = {
  url: "/openapi.json",
  withDefaultFonts: false,
  hideClientButton: true,
  telemetry: false,
  showDeveloperTools: "never",
  agent: { disabled: true },
  mcp: { disabled: true },
};
export const SWAGGER_OPTIONS = {
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  persistAuthorization: false,
};

const scalarPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evently API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><div id="app"></div>
<script src="/docs/assets/scalar.js"></script>
<script>Scalar.createApiReference('#app', ${JSON.stringify(SCALAR_OPTIONS)});</script>
</body></html>`;

const swaggerPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Evently API — Swagger UI</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle(${JSON.stringify(SWAGGER_OPTIONS)});</script>
</body></html>`;

export const docsRouter = new Hono<AppEnv>()
  .get("/docs", (c) => c.html(scalarPage))
  .get("/swagger", (c) => c.html(swaggerPage))
  .get("/docs/assets/:name", (c) => {
    const asset = assets[c.req.param("name")];
    if (!asset) return c.notFound();
    return new Response(Bun.file(asset.file), {
      headers: { "content-type": asset.type, "cache-control": "public, max-age=86400" },
    });
  });
