import { freePort, type Spawned, spawnLogged } from "./spawn";
import { testEnv } from "./test-env";

/** Asks a spawned process to stop, and makes sure it has within a few seconds. */
export async function stopProcess(p: Spawned | undefined): Promise<void> {
  if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill("SIGTERM");
  const timer = setTimeout(() => p.proc.kill("SIGKILL"), 5_000);
  await p.proc.exited;
  clearTimeout(timer);
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

/** A private redis-server on a free port, to be killed when a test wants Redis gone. */
export async function startRedisServer(): Promise<{
  port: number;
  url: string;
  /** SIGSTOP freezes it: connections stay open but nothing answers (a hung Redis). */
  signal(sig: "SIGSTOP" | "SIGCONT"): void;
  kill(): Promise<void>;
}> {
  const port = freePort();
  const proc = Bun.spawn(
    ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdout: "ignore", stderr: "ignore" },
  );
  const kill = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    await proc.exited;
  };
  const signal = (sig: "SIGSTOP" | "SIGCONT") => proc.kill(sig);
  for (let i = 0; ; i++) {
    const ping = Bun.spawnSync(["redis-cli", "-p", String(port), "ping"]);
    if (ping.stdout.toString().trim() === "PONG") break;
    if (i > 50) {
      await kill();
      throw new Error("private redis-server did not start");
    }
    await Bun.sleep(100);
  }
  return { port, url: `redis://127.0.0.1:${port}/0`, signal, kill };
}
