import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";
import { stopWithGrace } from "../../src/platform/stop-process";
import { repoRoot } from "./processes";

/**
 * Runs one container of a manifest roughly as a container runtime would, without one: its
 * command is PID 1 of a new PID namespace, as the pod's runAsUser:runAsGroup, with / mounted
 * read-only (readOnlyRootFilesystem), an empty writable /tmp only when the pod mounts an emptyDir
 * there, the repository at /mnt/app (the image's /app) and only the environment the manifest
 * gives. The network is the host's, so ports are remapped by the caller. Needs root.
 */

// In a private mount namespace (unshare -m): nothing here is visible outside, and it all goes
// away with the namespace.
const SETUP = `set -eu
R="$1"; shift
mount --rbind / "$R"
mount -o remount,bind,ro "$R"
if [ "$SANDBOX_TMP" = 1 ]; then mount -t tmpfs -o size=16m,mode=1777 tmpfs "$R/tmp"; fi
mount -t tmpfs -o size=1m,mode=755 tmpfs "$R/mnt"
mkdir "$R/mnt/app"
mount --bind "$SANDBOX_APP" "$R/mnt/app"
mount -o remount,bind,ro "$R/mnt/app"
mount -t proc proc "$R/proc"
exec chroot --userspec="$SANDBOX_USER" "$R" /bin/sh -c 'cd /mnt/app && exec "$@"' sh "$@"`;

export interface Pod {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Everything the container wrote, for failure messages. */
  output(): string;
  /** Host pid of the container's PID 1 (the command). */
  init(): Promise<number>;
  /** Resident memory of every process in the container, MiB, by command line. */
  rss(): Promise<{ cmd: string; mib: number }[]>;
  /** SIGTERM to PID 1, as the kubelet sends after preStop; resolves with exit code and seconds taken. */
  terminate(graceSeconds: number): Promise<{ code: number | null; seconds: number }>;
}

export interface PodOptions {
  command: string[];
  env: Record<string, string>;
  uid: number;
  gid: number;
  writableTmp: boolean;
}

const children = async (pid: number): Promise<number[]> => {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const lists = await Promise.all(
    tasks.map((t) =>
      Bun.file(`/proc/${pid}/task/${t}/children`)
        .text()
        .catch(() => ""),
    ),
  );
  return lists.flatMap((l) => l.split(" ").filter(Boolean).map(Number));
};

async function descendants(pid: number): Promise<number[]> {
  const out = [pid];
  for (const child of await children(pid)) out.push(...(await descendants(child)));
  return out;
}

export async function startPod(opts: PodOptions): Promise<Pod> {
  const root = await mkdtemp(path.join(os.tmpdir(), "evently-pod-"));
  const proc = Bun.spawn(
    ["unshare", "-m", "-p", "-f", "--kill-child", "/bin/sh", "-c", SETUP, "setup", root, ...opts.command],
    {
      env: {
        // What the image's environment provides (PATH, HOME of its user), then the manifest's.
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        HOME: "/home/bun",
        ...opts.env,
        SANDBOX_TMP: opts.writableTmp ? "1" : "0",
        SANDBOX_APP: repoRoot,
        SANDBOX_USER: `${opts.uid}:${opts.gid}`,
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  let text = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  void proc.exited.finally(() => rm(root, { recursive: true, force: true }));

  const init = async () => {
    for (let i = 0; i < 100; i++) {
      const [pid] = await children(proc.pid);
      if (pid) return pid;
      await Bun.sleep(20);
    }
    throw new Error(`no PID 1 in the sandbox:\n${text}`);
  };
  return {
    proc,
    output: () => text,
    init,
    async rss() {
      const pids = await descendants(await init());
      const rows = await Promise.all(
        pids.map(async (pid) => {
          const status = await Bun.file(`/proc/${pid}/status`).text();
          const cmd = (await Bun.file(`/proc/${pid}/cmdline`).text()).replaceAll("\0", " ").trim();
          return { cmd, mib: Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024 };
        }),
      );
      return rows;
    },
    async terminate(graceSeconds) {
      const started = performance.now();
      process.kill(await init(), "SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), graceSeconds * 1000);
      const code = await proc.exited;
      clearTimeout(timer);
      return { code, seconds: (performance.now() - started) / 1000 };
    },
  };
}

/** Stops a pod that a failed test left running. */
export async function killPod(pod: Pod | undefined): Promise<void> {
  if (pod) await stopWithGrace(pod.proc, 1_000);
}
