import path from "node:path";
import type { Subprocess } from "bun";
import { stopWithGrace } from "../../src/platform/stop-process";
import { testEnv } from "./test-env";

/**
 * Real processes for tests: spawn a repo command and read its JSON log lines, stop it with a
 * grace, start a group of API processes on one port. (A private redis-server: redis-server.ts.)
 */

export const repoRoot = path.resolve(import.meta.dir, "../..");

/**
 * A free port for a process to listen on later: below the ephemeral range, like freePortRun. A
 * port the kernel hands out for port 0 can meanwhile become another test's client socket, and a
 * server started there then answers for something else (seen: Prism's port answering 404).
 */
export function freePort(): number {
  return freePortRun(1);
}

/**
 * The first of `count` consecutive free ports, below the kernel's ephemeral range (32768+), so a
 * process handed `base + i` does not race the random ports of other tests' client sockets.
 */
export function freePortRun(count: number): number {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const held: ReturnType<typeof Bun.serve>[] = [];
    try {
      for (let i = 0; i < count; i++) held.push(Bun.serve({ port: base + i, fetch: () => new Response() }));
      return base;
    } catch {
      // one of them is taken: try another base
    } finally {
      for (const server of held) server.stop(true);
    }
  }
  throw new Error(`no run of ${count} free ports found`);
}

export interface Spawned {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  lines: Record<string, any>[];
  waitForLine(pred: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
}

/** Spawns a repo command and collects its JSON log lines (other lines as `{ plain }`). */
export function spawnLogged(cmd: string[], env: Record<string, string>): Spawned {
  const proc = Bun.spawn(cmd, {
    cwd: repoRoot,
    // Every access line, so tests can count who answered (production samples 2xx lines).
    env: { ...process.env, LOG_LEVEL: "info", ACCESS_LOG_SAMPLE_RATE: "1", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const lines: Record<string, any>[] = [];
  const waiters: { pred: (l: Record<string, any>) => boolean; resolve: (l: Record<string, any>) => void }[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += decoder.decode(chunk, { stream: true });
      let i = buf.indexOf("\n");
      while (i >= 0) {
        const raw = buf.slice(0, i);
        buf = buf.slice(i + 1);
        i = buf.indexOf("\n");
        let line: Record<string, any>;
        try {
          line = JSON.parse(raw);
        } catch {
          // Plain lines (what `bun run start` says to a person) are kept as { plain }.
          if (!raw.trim()) continue;
          line = { plain: raw };
        }
        lines.push(line);
        for (const w of [...waiters]) {
          if (w.pred(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      }
    }
  })();
  return {
    proc,
    lines,
    waitForLine(pred, timeoutMs = 15_000) {
      const seen = lines.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("timed out waiting for a log line")), timeoutMs);
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
  };
}

/** Asks a spawned process to stop, and makes sure it has within a few seconds. */
export async function stopProcess(p: Spawned | undefined): Promise<void> {
  if (p) await stopWithGrace(p.proc, 5_000);
}

export async function waitForHttp(url: string, timeoutMs = 15_000): Promise<Response> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return res;
    } catch {}
    if (Date.now() > until) throw new Error(`${url} did not answer`);
    await Bun.sleep(100);
  }
}

export interface ApiGroup {
  port: number;
  url: string;
  /** The group's metrics port (METRICS_PORT), e.g. `${metricsUrl}/metrics`. */
  metricsUrl: string;
  procs: Spawned[];
  stop(): Promise<void>;
}

let groups = 0;

/**
 * `count` real API processes (`bun src/server.ts`) sharing one port with reusePort, each with
 * `env` on top of this test file's environment, and a Redis key prefix of their own so that
 * groups never share rate-limit buckets. Resolves once every process is listening.
 */
export async function startApiProcesses(count: number, env: Record<string, string> = {}): Promise<ApiGroup> {
  const port = freePort();
  const metricsPort = env.METRICS_PORT ?? String(freePort());
  const prefix = `${testEnv.REDIS_KEY_PREFIX}g${++groups}:`;
  const procs: Spawned[] = [];
  const stop = async () => {
    await Promise.all(procs.map(stopProcess));
  };
  try {
    for (let i = 0; i < count; i++) {
      procs.push(
        spawnLogged([process.execPath, "src/server.ts"], {
          PORT: String(port),
          REDIS_KEY_PREFIX: prefix,
          ...env,
          METRICS_PORT: metricsPort,
        }),
      );
    }
    await Promise.all(procs.map((p) => p.waitForLine((l) => l.msg === "api listening")));
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, url: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}`, procs, stop };
}

/**
 * Runs `body` in a fresh Bun process at the repo root with `app` = createApp() in scope and this
 * test file's environment plus `env` (e.g. a REDIS_URL nobody listens on); `body` ends with
 * `return <json-serialisable value>`, which this resolves to.
 */
export async function runAppInFreshProcess<T>(body: string, env: Record<string, string>): Promise<T> {
  const script = `
    const { createApp } = await import("./src/app.ts");
    const app = createApp();
    const result = await (async () => { ${body} })();
    process.stdout.write(JSON.stringify(result));
    process.exit(0);`;
  const proc = Bun.spawn([process.execPath, "-e", script], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdout: "pipe",
  });
  try {
    return JSON.parse(await new Response(proc.stdout).text()) as T;
  } finally {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}
