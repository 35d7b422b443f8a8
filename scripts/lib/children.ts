import path from "node:path";
import { config } from "../../src/config";
import type { ChildSpec } from "./supervisor";

const root = path.resolve(import.meta.dir, "../..");
const bun = process.execPath;

/** The worker entry points under workers/; `bun run start` starts one of each. */
export const WORKERS: string[] = ["waitlist-promoter", "waitlist-janitor", "cache-warmer", "notifier", "maintenance"];

export function apiChildren(): ChildSpec[] {
  return Array.from({ length: config.API_WORKERS }, (_, i) => ({
    name: `api-${i + 1}`,
    cmd: [bun, path.join(root, "src/server.ts")],
  }));
}

export function workerChildren(): ChildSpec[] {
  // On one host each worker needs its own metrics port: METRICS_PORT, METRICS_PORT + 1, ...
  return WORKERS.map((name, i) => ({
    name,
    cmd: [bun, path.join(root, "workers", `${name}.ts`)],
    env: config.METRICS_PORT > 0 ? { METRICS_PORT: String(config.METRICS_PORT + i) } : undefined,
  }));
}
