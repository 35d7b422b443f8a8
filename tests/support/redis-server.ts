import type { Subprocess } from "bun";
import Redis from "ioredis";
import { freePort } from "./processes";

/** A private, throw-away redis-server (no persistence) that a test can stop and start again. */
export class PrivateRedis {
  readonly port = freePort();
  readonly url = `redis://127.0.0.1:${this.port}/0`;
  private proc: Subprocess | undefined;

  async start(): Promise<void> {
    this.proc = Bun.spawn(
      ["redis-server", "--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdout: "ignore", stderr: "ignore" },
    );
    const probe = new Redis(this.port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
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

  /** Kills the server at once (like a crash); its data is gone. */
  async kill(): Promise<void> {
    this.proc?.kill("SIGKILL");
    await this.proc?.exited;
    this.proc = undefined;
  }

  /** A client with the given key prefix, for checking what reached this server. */
  client(keyPrefix: string): Redis {
    const client = new Redis(this.url, { keyPrefix });
    client.on("error", () => {}); // expected while the server is stopped
    return client;
  }
}
