import { createApp } from "./app";
import { config } from "./config";
import { closeLive } from "./modules/live";
import { createMetricsApp } from "./modules/ops";
import { startMetricsPublisher } from "./modules/ops/ops.metrics";
import { closeDb } from "./platform/db";
import { logger } from "./platform/logger";
import { closeRedis } from "./platform/redis";

/** One API process. Several share PORT through reusePort (see scripts/start-api.ts). */
const app = createApp();
const stopMetricsPublisher = startMetricsPublisher();
const server = Bun.serve({
  port: config.PORT,
  hostname: "0.0.0.0",
  reusePort: true,
  idleTimeout: 30,
  maxRequestBodySize: 2 * 1024 * 1024,
  fetch: app.fetch,
});
logger.info({ port: server.port }, "api listening");
const metricsServer = config.METRICS_PORT > 0 ? serveMetrics() : undefined;
if (config.JWT_SECRET_GENERATED) {
  logger.warn(
    "JWT_SECRET is not set: this process signs with a random secret of its own; its tokens are refused by other processes and after a restart",
  );
}

/**
 * Metrics on a port of their own (loopback by default): the API port is public. Shared by the
 * pool like PORT. A port taken by something else costs the metrics, not the API (logged).
 */
function serveMetrics() {
  try {
    const metrics = Bun.serve({
      port: config.METRICS_PORT,
      hostname: config.METRICS_HOST,
      reusePort: true,
      fetch: createMetricsApp().fetch,
    });
    logger.info({ port: metrics.port, host: config.METRICS_HOST }, "metrics listening");
    return metrics;
  } catch (err) {
    logger.warn({ port: config.METRICS_PORT, err: String(err) }, "metrics server not started");
    return undefined;
  }
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "api shutting down: finishing in-flight requests");
  const force = setTimeout(() => {
    logger.warn("in-flight requests did not finish in 10 s; exiting");
    process.exit(1);
  }, 10_000);
  // Live streams never end by themselves: close them so their clients reconnect elsewhere.
  await closeLive();
  await server.stop(false);
  await metricsServer?.stop(true);
  stopMetricsPublisher();
  await Promise.allSettled([closeDb(), closeRedis()]);
  clearTimeout(force);
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
