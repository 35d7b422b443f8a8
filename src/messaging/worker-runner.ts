import type { Server } from "bun";
import { config } from "../config";
import { closeDb } from "../platform/db";
import { logger } from "../platform/logger";
import { closeRedis, waitForRedis } from "../platform/redis";
import { type OutboxRelayLoop, startOutboxRelayLoop } from "./relay";
import { startMetricsServer } from "./worker-metrics";

/** Anything a worker runs that must be stopped on shutdown (consumers, timer loops). */
export interface Stoppable {
  stop(): Promise<void>;
  /** If it resolves while the worker is not stopping, the loop died: the process exits 1 to be restarted. */
  readonly done?: Promise<void>;
}

export interface RunWorkerOptions {
  /** Every worker also relays the outbox, so it drains while any worker lives. Default true. */
  relay?: boolean;
}

// Under the supervisor's and Docker's grace periods (15 s and 10 s), so we exit on our own terms.
const SHUTDOWN_GRACE_MS = 8_000;

/**
 * The body of every workers/<name>.ts: starts the parts, the outbox relay loop and the optional
 * metrics server; on SIGTERM/SIGINT stops them (consumers finish the entry in hand), closes the
 * pools and exits 0. A part that dies, or an error nobody caught, exits 1 so that the supervisor
 * (or the container runtime) restarts the process; unacknowledged entries are taken over anyway.
 */
export async function runWorker(
  name: string,
  start: () => Stoppable[] | Promise<Stoppable[]>,
  opts: RunWorkerOptions = {},
): Promise<void> {
  const log = logger.child({ worker: name });
  const parts: Stoppable[] = [];
  let relay: OutboxRelayLoop | undefined;
  let metrics: Server<undefined> | undefined;
  let stopping = false;

  const shutdown = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, "worker stopping");
    const force = setTimeout(() => {
      log.error("worker did not stop in time; exiting");
      process.exit(1);
    }, SHUTDOWN_GRACE_MS);
    await Promise.allSettled(parts.map((p) => p.stop()));
    await relay?.stop();
    metrics?.stop(true);
    await Promise.allSettled([closeDb(), closeRedis()]);
    clearTimeout(force);
    log.info({ code }, "worker stopped");
    process.exit(code);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM", 0));
  process.on("SIGINT", () => void shutdown("SIGINT", 0));
  process.on("uncaughtException", (err) => {
    log.fatal({ err }, "uncaught exception");
    void shutdown("uncaughtException", 1);
  });
  process.on("unhandledRejection", (err) => {
    log.fatal({ err }, "unhandled rejection");
    void shutdown("unhandledRejection", 1);
  });

  // Saves a burst of "not connected" warnings at start; if Redis is down, the loops wait for it.
  if (!(await waitForRedis(3_000))) log.warn("redis not reachable yet; starting anyway");
  if (stopping) return;
  if (opts.relay !== false) relay = startOutboxRelayLoop();
  if (config.METRICS_PORT > 0) metrics = startMetricsServer(config.METRICS_PORT);
  try {
    parts.push(...(await start()));
  } catch (err) {
    log.fatal({ err }, "worker failed to start");
    return shutdown("start failed", 1);
  }
  for (const part of parts) {
    void part.done?.then(() => {
      if (!stopping) void shutdown("a worker loop ended unexpectedly", 1);
    });
  }
  log.info({ parts: parts.length, relay: Boolean(relay) }, "worker running");
}
