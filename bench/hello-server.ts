import { Hono } from "hono";

/**
 * The reference for the read scenarios: a bare Hono app on the same runtime, served the same way as
 * src/server.ts (Bun.serve, reusePort, one process per API worker). Started by the bench as
 * `bun scripts/bench/hello-server.ts <port> [blob-file]`: `/hello` answers a small JSON document,
 * `/blob` the bytes of blob-file (the seat map captured from the API) as JSON, read once at start.
 */
const [portArg, blobFile] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port < 1) {
  process.stderr.write("usage: bun scripts/bench/hello-server.ts <port> [blob-file]\n");
  process.exit(2);
}
const blob = blobFile ? await Bun.file(blobFile).text() : "[]";

const app = new Hono();
app.get("/hello", (c) => c.json({ message: "hello", ok: true }));
app.get("/blob", (c) => c.body(blob, 200, { "content-type": "application/json" }));

const server = Bun.serve({ port, hostname: "0.0.0.0", reusePort: true, idleTimeout: 30, fetch: app.fetch });
const stop = () => {
  server.stop(true);
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
