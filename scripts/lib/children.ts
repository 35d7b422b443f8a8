import path from "node:path";
import { config } from "../../src/config";
import { logger } from "../../src/platform/logger";
import type { ChildSpec } from "./supervisor";

const root = path.resolve(import.meta.dir, "../..");
const bun = process.execPath;

/** The worker entry points under workers/; `bun run start` starts one of each. */
export const WORKERS: string[] = [
  "waitlist-promoter",
  "waitlist-janitor",
  "cache-warmer",
  "notifier",
  "maintenance",
  "webhook-dispatcher",
];

/**
 * Without JWT_SECRET, config.ts made up a random secret in this process: every child of this
 * start gets that one, so a token signed by one API process is accepted by the others (and by
 * none after a restart, since the next start makes up another). Says so once.
 */
export function withSharedSecret(children: ChildSpec[]): ChildSpec[] {
  if (!config.JWT_SECRET_GENERATED) return children;
  logger.warn(
    { processes: children.length },
    "JWT_SECRET is not set: generated a random secret shared by the processes of this start; tokens stop working when it restarts",
  );
  return children.map((c) => ({ ...c, env: { ...c.env, JWT_SECRET: config.JWT_SECRET } }));
}

/** Read by Bun when a process starts, so it is set in the child's environment (config.ts says why). */
const heapEnv: Record<string, string> =
  config.JS_HEAP_RAM_MB > 0 ? { BUN_JSC_forceRAMSize: String(config.JS_HEAP_RAM_MB * 1024 * 1024) } : {};

export function apiChildren(): ChildSpec[] {
  return Array.from({ length: config.API_WORKERS }, (_, i) => ({
    name: `api-${i + 1}`,
    cmd: [bun, path.join(root, "src/server.ts")],
    env: heapEnv,
  }));
}

export function workerChildren(): ChildSpec[] {
  // On one host the API pool shares METRICS_PORT and each worker takes its own after it:
  // METRICS_PORT + 1, + 2, ... in WORKERS order.
  return WORKERS.map((name, i) => ({
    name,
    cmd: [bun, path.join(root, "workers", `${name}.ts`)],
    env: config.METRICS_PORT > 0 ? { ...heapEnv, METRICS_PORT: String(config.METRICS_PORT + 1 + i) } : heapEnv,
  }));
}
