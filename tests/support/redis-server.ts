import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";
import Redis from "ioredis";
import { freePort } from "./processes";

/**
 * A private, throw-away redis-server that a test can stop and start again. By default it keeps
 * nothing; with `persistent` it writes an append-only file (fsync on every write) in a temp
 * folder, so its data survives a kill -9 and restart, as a production Redis with AOF would.
 */
export class PrivateRedis {
  readonly port = freePort();
  readonly url = `redis://127.0.0.1:${this.port}/0`;
  private proc: Subprocess | undefined;
  private readonly dir: string | undefined;

  constructor(opts: { persistent?: boolean } = {}) {
    this.dir = opts.persistent ? mkdtempSync(path.join(os.tmpdir(), "evently-redis-")) : undefined;
  }

  async start(): Promise<void> {
    const persistence = this.dir
      ? ["--appendonly", "yes", "--appendfsync", "always", "--dir", this.dir]
      : ["--appendonly", "no"];
    this.proc = Bun.spawn(
      ["redis-server", "--port", String(this.port), "--bind", "127.0.0.1", "--save", "", ...persistence],
      { stdout: "ignore", stderr: "ignore" },
    );
    const probe = new Redis(this.port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
    probe.on("error", () => {}); // refused until the server listens; the loop below retries
    try {
      for (let i = 0; i < 100; i++) {
        try {
          if (probe.status !== "ready") await probe.connect();
          if ((await probe.ping()) === "PONG") return;
        } catch {}
        await Bun.sleep(50);
      }
      throw new Error(`redis-server on ${this.port} did not start`);
    } finally {
      probe.disconnect();
    }
  }

  /** Kills the server at once (like a crash); without `persistent` its data is gone. */
  async kill(): Promise<void> {
    this.proc?.kill("SIGKILL");
    await this.proc?.exited;
    this.proc = undefined;
  }

  /** SIGSTOP/SIGCONT: connections stay open but nothing answers — the "slow Redis" case. */
  pause(): void {
    this.proc?.kill("SIGSTOP");
  }

  resume(): void {
    this.proc?.kill("SIGCONT");
  }

  /** Kills the server and removes its data folder. */
  async dispose(): Promise<void> {
    await this.kill();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** A client with the given key prefix, for checking what reached this server. */
  client(keyPrefix: string): Redis {
    const client = new Redis(this.url, { keyPrefix });
    client.on("error", () => {}); // expected while the server is stopped
    return client;
  }
}
