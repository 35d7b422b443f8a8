import type { Subprocess } from "bun";
import Redis from "ioredis";
import { freePort, repoRoot } from "./processes";

/** Drives tests/support/cache-child.ts: one command at a time, replies in order. */
export class CacheChild {
  private readonly waiting: ((reply: any) => void)[] = [];
  readonly stderr: Promise<string>;

  private constructor(private readonly proc: Subprocess<"pipe", "pipe", "pipe">) {
    this.stderr = new Response(proc.stderr).text();
    void this.readReplies();
  }

  static start(env: Record<string, string> = {}): CacheChild {
    const proc = Bun.spawn([process.execPath, "tests/support/cache-child.ts"], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: "silent", ...env },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    return new CacheChild(proc);
  }

  private async readReplies(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of this.proc.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 1);
        try {
          const parsed = JSON.parse(line);
          if (parsed && "reply" in parsed) this.waiting.shift()?.(parsed.reply);
        } catch {}
      }
    }
  }

  send(command: Record<string, unknown>): Promise<any> {
    const reply = new Promise((resolve) => this.waiting.push(resolve));
    this.proc.stdin.write(`${JSON.stringify(command)}\n`);
    this.proc.stdin.flush();
    return reply;
  }

  async stop(): Promise<void> {
    this.proc.stdin.end();
    this.proc.kill();
    await this.proc.exited;
  }
}

/** A private, throw-away redis-server (no persistence) that a test may kill, pause and restart. */
export class PrivateRedis {
  private proc: Subprocess | undefined;
  readonly port = freePort();
  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    this.proc = Bun.spawn(
      ["redis-server", "--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdout: "ignore", stderr: "ignore" },
    );
    const until = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
      probe.on("error", () => {});
      try {
        await probe.connect();
        await probe.ping();
        return;
      } catch {
        if (Date.now() > until) throw new Error("private redis did not start");
        await Bun.sleep(50);
      } finally {
        probe.disconnect();
      }
    }
  }

  /** SIGKILL: connections drop at once, data is gone (no persistence). */
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
}
