import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LoadResult, LoadSpec } from "./load-spec";
import { bun, spawnTracked } from "./procs";

/** Runs one load in a fresh load-generator process and returns what it measured. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "evently-load-"));
  try {
    const file = path.join(dir, "spec.json");
    await Bun.write(file, JSON.stringify(spec));
    const child = spawnTracked("loadgen", [bun, path.join(import.meta.dir, "loadgen.ts"), file], envWithoutSecrets(), {
      keepStdout: true,
    });
    const [code, out] = await Promise.all([child.proc.exited, child.stdout()]);
    if (code !== 0) throw new Error(`load generator failed (exit ${code}):\n${child.tail()}`);
    return JSON.parse(out.trim().split("\n").pop() as string) as LoadResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The load generator needs no configuration; give it only what a process needs to run. */
function envWithoutSecrets(): Record<string, string> {
  const keep = ["PATH", "HOME", "TMPDIR", "LANG"];
  return Object.fromEntries(keep.flatMap((k) => (process.env[k] ? [[k, process.env[k] as string]] : [])));
}

/** Request path like `/api/v1/events/7`, from a base URL that may carry a path prefix. */
export function target(baseUrl: string): { host: string; port: number; prefix: string } {
  const u = new URL(baseUrl);
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  if (u.protocol !== "http:") throw new Error(`only http:// targets are supported, not ${u.protocol}`);
  return { host: u.hostname, port, prefix: u.pathname.replace(/\/$/, "") };
}
