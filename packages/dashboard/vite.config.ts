import { defineConfig } from "vite";

// Built into dist/ and served by the API at /admin (src/modules/admin): every asset comes from
// this server, none from a CDN. Preact's JSX runtime, no framework plugin needed.
export default defineConfig({
  base: "/admin/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 400 },
  server: { proxy: { "/api": "http://127.0.0.1:3000" } },
});
