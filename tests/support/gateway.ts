import { freePort, type Spawned, spawnLogged, stopProcess } from "./processes";

/** `bun run gateway:local` (the real nginx rules) in front of 127.0.0.1:upstreamPort. */
export interface Gateway {
  url: string;
  run: Spawned;
  stop(): Promise<number>;
}

/** Resolves once nginx answers; `env` is added to the script's environment. */
export async function startGateway(upstreamPort: number, env: Record<string, string> = {}): Promise<Gateway> {
  const port = freePort();
  const run = spawnLogged([process.execPath, "run", "gateway:local"], {
    ...env,
    PORT: String(upstreamPort),
    GATEWAY_PORT: String(port),
  });
  const stop = async () => {
    const started = run.lines.find((l) => l.msg === "gateway listening");
    await stopProcess(run);
    // If the script itself had to be killed, its nginx is left behind: end it by pid, after
    // checking the pid still is that nginx (pids get reused).
    if (started?.nginx_pid && run.proc.signalCode === "SIGKILL") {
      const cmdline = await Bun.file(`/proc/${started.nginx_pid}/cmdline`)
        .text()
        .catch(() => "");
      if (cmdline.includes(started.temp_dir)) process.kill(started.nginx_pid, "SIGKILL");
    }
    return run.proc.exitCode ?? -1;
  };
  try {
    await run.waitForLine((l) => l.msg === "gateway listening");
    // The upstream may be a stub without /health: any answer from nginx will do.
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${port}/`).then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (i > 100) throw new Error("gateway did not answer");
      await Bun.sleep(50);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, run, stop };
}
