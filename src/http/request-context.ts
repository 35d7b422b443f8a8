import { createMiddleware } from "hono/factory";
import { config } from "../config";
import { logger } from "../platform/logger";
import { requestMetrics } from "../platform/metrics";
import type { AppEnv } from "./router";

const VALID_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (the caller's X-Request-Id when it is sane), echoes it, and records
 * the metrics when the request ends. Route labels use the route template, never the raw path, so
 * metric cardinality stays bounded. The access log line is written for every 4xx and 5xx answer
 * and for a sample (ACCESS_LOG_SAMPLE_RATE, 1 % by default) of the others: the metrics count
 * every request, the log keeps the ones worth reading without a line per cached read.
 */
const SAMPLE_RATE = config.ACCESS_LOG_SAMPLE_RATE;

export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  const incoming = c.req.header("x-request-id");
  const requestId = incoming && VALID_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
  c.set("requestId", requestId);
  await next();
  // Touching a Response's headers builds a Headers object (a measurable share of a cached read),
  // so the hot responses carry the id from the start (sendJson, problems) and are left alone.
  if (!c.get("requestIdSent")) c.res.headers.set("x-request-id", requestId);
  const seconds = (performance.now() - started) / 1000;
  const status = c.res.status;
  const template = c.req.routePath;
  const route = status === 404 && template === "/*" ? "unmatched" : template;
  requestMetrics.record(c.req.method, route, status, seconds);
  if ((status >= 400 || (SAMPLE_RATE > 0 && Math.random() < SAMPLE_RATE)) && logger.isLevelEnabled("info")) {
    logger.info(
      {
        request_id: requestId,
        method: c.req.method,
        route,
        path: c.req.path,
        status,
        duration_ms: Math.round(seconds * 100_000) / 100,
        user_id: c.get("user")?.id,
      },
      "request",
    );
  }
});
