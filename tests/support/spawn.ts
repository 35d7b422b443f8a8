import path from "node:path";
import type { Subprocess } from "bun";

export const repoRoot = path.resolve(import.meta.dir, "../..");

export function freePort(): number {
  const server = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = server.port as number;
  server.stop(true);
  return port;
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
    env: { ...process.env, LOG_LEVEL: "info", ...env },
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
