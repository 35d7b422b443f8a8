import type { Subprocess } from "bun";
import { logger } from "../../src/platform/logger";
import { stopWithGrace } from "../../src/platform/stop-process";

export interface ChildSpec {
  name: string;
  cmd: string[];
  /** Added to the supervisor's own environment for this child. */
  env?: Record<string, string>;
}

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
// A child that ran this long before dying is considered healthy: its back-off starts over.
const HEALTHY_RUN_MS = 30_000;
// Above the workers' own 8 s shutdown limit, so a child is only killed when it hangs.
const STOP_GRACE_MS = 15_000;

/**
 * Runs children, restarts any that dies (exponential back-off), and on SIGTERM/SIGINT forwards
 * SIGTERM to all of them and exits once they have stopped.
 */
export function supervise(specs: ChildSpec[]): void {
  const running = new Map<string, Subprocess>();
  let stopping = false;

  const start = (spec: ChildSpec, backoff: number) => {
    const startedAt = Date.now();
    const child = Bun.spawn(spec.cmd, {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, ...spec.env },
    });
    running.set(spec.name, child);
    logger.info({ child: spec.name, child_pid: child.pid }, "child started");
    void child.exited.then((code) => {
      running.delete(spec.name);
      if (stopping) return;
      const next = Date.now() - startedAt > HEALTHY_RUN_MS ? MIN_BACKOFF_MS : Math.min(backoff * 2, MAX_BACKOFF_MS);
      logger.warn({ child: spec.name, code, restart_in_ms: next }, "child exited; restarting");
      setTimeout(() => !stopping && start(spec, next), next);
    });
  };

  for (const spec of specs) start(spec, MIN_BACKOFF_MS);

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, children: running.size }, "stopping children");
    await Promise.allSettled([...running.values()].map((child) => stopWithGrace(child, STOP_GRACE_MS)));
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
