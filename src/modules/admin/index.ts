import { existsSync } from "node:fs";
import path from "node:path";
import { Hono } from "hono";
import type { AppEnv } from "../../http/router";

/**
 * The admin dashboard (packages/dashboard), built by `bun run build` into its dist/ folder and
 * served from there: one page at /admin, hashed assets under /admin/assets/. It signs in through
 * the normal token endpoint and calls the API like any client; nothing here checks who you are.
 */
export const DASHBOARD_DIR = path.resolve(import.meta.dir, "../../../packages/dashboard/dist");
const ASSET_NAME = /^[\w-]+(\.[\w-]+)*\.(js|css|svg|png|woff2)$/;

// Everything from this server; inline styles only for the charts' canvas sizing.
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-cache",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const notBuilt = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Evently admin</title></head>
<body><h1>The admin dashboard is not built</h1><p>Run <code>bun run build</code> (or <code>bun install</code>) and reload.</p></body></html>`;

export const dashboardBuilt = (): boolean => existsSync(path.join(DASHBOARD_DIR, "index.html"));

export const adminRouter = new Hono<AppEnv>()
  .get("/admin", () => {
    const index = path.join(DASHBOARD_DIR, "index.html");
    if (!existsSync(index)) return new Response(notBuilt, { status: 503, headers: PAGE_HEADERS });
    return new Response(Bun.file(index), { headers: PAGE_HEADERS });
  })
  .get("/admin/assets/:name", async (c) => {
    const name = c.req.param("name");
    const file = Bun.file(path.join(DASHBOARD_DIR, "assets", name));
    if (!ASSET_NAME.test(name) || !(await file.exists())) return c.notFound();
    // Names carry a content hash: a changed file is a new name.
    return new Response(file, {
      headers: {
        "content-type": file.type,
        "cache-control": "public, max-age=31536000, immutable",
        "x-content-type-options": "nosniff",
      },
    });
  });
