import type { Server } from "bun";
import { errorMessage } from "../platform/error-message";
import { logger } from "../platform/logger";
import { processMetricsText, registry } from "../platform/metrics";

/**
 * Serves this process's Prometheus metrics on `port` (GET /metrics) for scrapers; workers have no
 * HTTP API of their own. Returns undefined when the port is taken (e.g. several workers on one
 * host with the same METRICS_PORT): metrics are optional, the worker's job is not.
 */
export function startMetricsServer(port: number): Server<undefined> | undefined {
  try {
    const server = Bun.serve({
      port,
      hostname: "0.0.0.0",
      fetch: async (req) => {
        const { pathname } = new URL(req.url);
        if (pathname === "/metrics") {
          return new Response(await processMetricsText(), { headers: { "content-type": registry.contentType } });
        }
        if (pathname === "/health") return Response.json({ status: "ok" });
        return new Response("not found", { status: 404 });
      },
    });
    logger.info({ port: server.port }, "metrics listening");
    return server;
  } catch (err) {
    logger.warn({ port, err: errorMessage(err) }, "metrics server not started");
    return undefined;
  }
}
