import path from "node:path";
import type { Subprocess } from "bun";
import { stopWithGrace } from "../src/platform/stop-process";

/**
 * Every process the bench starts goes through here, so that a failure, Ctrl-C or SIGTERM stops
 * them all (SIGTERM, then SIGKILL after a grace period). Output is kept: the last lines for error
 * messages, or everything when the caller reads a result from stdout.
 */

export const repoRoot = path.resolve(import.meta.dir, "..");
export const bun = process.execPath;

export interface Tracked {
  name: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Last lines of stdout and stderr, for error messages. */
  tail(): string;
  /** The whole stdout, once the process has exited (only when started with keepStdout). */
  stdout(): Promise<string>;
}

const live = new Set<Tracked>();
const TAIL_LINES = 40;

async function drain(stream: ReadableStream<Uint8Array>, into: string[], keep: string[] | undefined): Promise<void> {
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    keep?.push(text);
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    into.push(...lines.filter(Boolean));
    if (into.length > TAIL_LINES) into.splice(0, into.length - TAIL_LINES);
  }
  if (partial) into.push(partial);
}

export function spawnTracked(
  name: string,
  cmd: string[],
  env: Record<string, string>,
  opts: { keepStdout?: boolean } = {},
): Tracked {
  const proc = Bun.spawn(cmd, { cwd: repoRoot, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const tailLines: string[] = [];
  const kept: string[] | undefined = opts.keepStdout ? [] : undefined;
  const drained = Promise.all([drain(proc.stdout, tailLines, kept), drain(proc.stderr, tailLines, undefined)]).catch(
    () => {},
  );
  const tracked: Tracked = {
    name,
    proc,
    tail: () => tailLines.join("\n"),
    stdout: async () => {
      await proc.exited;
      await drained;
      return (kept ?? []).join("");
    },
  };
  live.add(tracked);
  void proc.exited.then(() => live.delete(tracked));
  return tracked;
}

/** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
export async function stopTracked(t: Tracked, graceMs = 15_000): Promise<void> {
  await stopWithGrace(t.proc, graceMs);
}

export async function stopAll(graceMs = 15_000): Promise<void> {
  await Promise.allSettled([...live].map((t) => stopTracked(t, graceMs)));
}

/** Fails with the process's last output if it exits before `ready` resolves. */
export async function whileAlive<T>(t: Tracked, ready: Promise<T>): Promise<T> {
  const died = t.proc.exited.then((code) => {
    throw new Error(`${t.name} exited with code ${code} during start-up:\n${t.tail()}`);
  });
  return Promise.race([ready, died]);
}

export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    if (Date.now() > until) throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
    await Bun.sleep(100);
  }
}

export function freePort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port as number;
  server.stop(true);
  return port;
}
