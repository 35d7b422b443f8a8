import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LoadResult, LoadSpec } from "./load-spec";
import { spawnTracked } from "./procs";

/**
 * wrk (Debian's package) for the plain GET loads, where it is installed: it costs less client CPU
 * per request than the Bun generator (measured here at about 1.1–1.3× its rate against a bare
 * Bun server), and on two shared cores whatever the client spends, the server lacks. Same shape
 * as loadgen.ts: one thread, `concurrency` keep-alive connections, a discarded warm-up run.
 * wrk counts 2xx and 3xx answers together; they are reported under "200".
 */

const REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"bytes\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d," ..
    "\\"status\\":%d,\\"timeout\\":%d,\\"p50\\":%f,\\"p95\\":%f,\\"p99\\":%f,\\"max\\":%f,\\"mean\\":%f}\\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max, latency.mean))
end
`;

interface WrkSummary {
  requests: number;
  duration_us: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function findWrk(): string | undefined {
  return Bun.which("wrk") ?? undefined;
}

/** Whether wrk can run this load: a fixed GET without tokens or random parts. */
export function wrkCanRun(spec: Pick<LoadSpec, "method" | "tokens" | "randomMax" | "body">): boolean {
  return spec.method === "GET" && !spec.tokens?.length && !spec.randomMax && spec.body === undefined;
}

/** A random client address per request, like the Bun generator's (LoadSpec.clientAddresses). */
const clientAddresses = (n: number) => `
local n = ${n}
request = function()
  local i = math.random(0, n - 1)
  local xff = string.format("10.%d.%d.%d", math.floor(i / 65536) % 256, math.floor(i / 256) % 256, i % 256)
  return wrk.format(nil, nil, { ["x-forwarded-for"] = xff })
end
`;

async function wrkOnce(wrk: string, spec: LoadSpec, seconds: number, script: string): Promise<WrkSummary> {
  const url = `http://${spec.host}:${spec.port}${spec.path}`;
  const args = [wrk, "-t1", `-c${spec.concurrency}`, `-d${seconds}s`, "--timeout", "10s", "-s", script, url];
  const child = spawnTracked("wrk", args, { PATH: process.env.PATH ?? "" }, { keepStdout: true });
  const [code, out] = await Promise.all([child.proc.exited, child.stdout()]);
  const line = out.split("\n").find((l) => l.startsWith("WRKJSON "));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}):\n${child.tail()}`);
  return JSON.parse(line.slice("WRKJSON ".length)) as WrkSummary;
}

export async function runWrk(wrk: string, spec: LoadSpec): Promise<LoadResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "evently-wrk-"));
  try {
    const script = path.join(dir, "report.lua");
    await Bun.write(script, (spec.clientAddresses ? clientAddresses(spec.clientAddresses) : "") + REPORT);
    const warmupS = Math.round(spec.warmupMs / 1000);
    if (warmupS > 0) await wrkOnce(wrk, spec, warmupS, script);
    const s = await wrkOnce(wrk, spec, Math.max(1, Math.round(spec.durationMs / 1000)), script);
    const seconds = s.duration_us / 1e6;
    const ok = s.requests - s.status;
    return {
      requests: s.requests,
      seconds,
      rps: s.requests / seconds,
      statuses: s.status > 0 ? { "200": ok, "non-2xx/3xx": s.status } : { "200": ok },
      errors: s.connect + s.read + s.write + s.timeout,
      // wrk counts header bytes too; the seat-map row takes the body size from the bench instead.
      bytesPerResponse: s.requests ? s.bytes / s.requests : 0,
      latencyMs: { p50: s.p50 / 1000, p95: s.p95 / 1000, p99: s.p99 / 1000, max: s.max / 1000, mean: s.mean / 1000 },
      generator: "wrk",
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
