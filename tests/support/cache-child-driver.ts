import type { Subprocess } from "bun";
import { stopWithGrace } from "../../src/platform/stop-process";
import { repoRoot } from "./processes";

/** Drives tests/support/cache-child.ts (another process using the real cache): one command at a time, replies in order. */
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

  /** For SIGSTOP/SIGCONT: a reader that stops answering. */
  get pid(): number {
    return this.proc.pid;
  }

  send(command: Record<string, unknown>): Promise<any> {
    const reply = new Promise((resolve) => this.waiting.push(resolve));
    this.proc.stdin.write(`${JSON.stringify(command)}\n`);
    this.proc.stdin.flush();
    return reply;
  }

  async stop(): Promise<void> {
    this.proc.stdin.end();
    await stopWithGrace(this.proc, 5_000);
  }
}
