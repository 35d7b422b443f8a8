import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import path from "node:path";
import { bun, freePort, repoRoot, spawnTracked, stopTracked, type Tracked, waitForHttp, whileAlive } from "./procs";

/**
 * The processes under test: the real stack (`scripts/start.ts`: migrations, admin, the API pool and
 * every worker it knows), an API-only pool for the Redis-outage read, and the Hono "hello" pool.
 */

export interface ChildProcess {
  pid: number;
  kind: "api" | "worker";
  name: string;
}

export interface Pool {
  baseUrl: string;
  procs: Tracked[];
  /** The processes that serve or work (children of a supervisor, or the pool's own processes). */
  children(): ChildProcess[];
  stop(): Promise<void>;
}

const PROMOTER = "waitlist-promoter";

/** Environment shared by every process of a stack: the bench's database, prefix and limits. */
export function stackEnv(overrides: Record<string, string>): Record<string, string> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  return {
    ...inherited,
    // The defaults a user of `bun run start` gets: rate limiter on, LOG_LEVEL info, 1 % of 2xx
    // access lines. Only the per-user seat cap is lifted, because random users book many seats.
    MAX_SEATS_PER_USER_PER_EVENT: "100000",
    // The live scenario opens every stream from this one address.
    LIVE_MAX_CONNECTIONS_PER_IP: "100000",
    // Workers would all bind the same metrics port; the bench does not read it.
    METRICS_PORT: "0",
    ...overrides,
  };
}

/** Child processes of `pid`, named from their command lines (src/server.ts, workers/<name>.ts). */
export function childrenOf(pid: number): ChildProcess[] {
  const found: ChildProcess[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      const worker = /workers\/([\w-]+)\.ts/.exec(cmdline);
      if (worker) found.push({ pid: Number(entry), kind: "worker", name: worker[1] as string });
      else if (cmdline.includes("src/server.ts")) found.push({ pid: Number(entry), kind: "api", name: "api" });
    } catch {
      // The process ended while we looked.
    }
  }
  return found.sort((a, b) => a.pid - b.pid);
}

/** Inodes of the sockets listening on `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === "0A" && cols[9]) inodes.add(cols[9]);
    }
  }
  return inodes;
}

function isListening(pid: number, inodes: Set<string>): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        return m !== null && inodes.has(m[1] as string);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * Waits until `expected` processes listen on the port. Keep-alive connections stay with the
 * process that accepted them, so a load started while only some listen would never reach the rest.
 */
async function waitUntilAllListen(port: number, pids: () => number[], expected: number): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const inodes = listeningInodes(port);
    const ready = pids().filter((pid) => isListening(pid, inodes)).length;
    if (ready >= expected) return;
    if (Date.now() > until) throw new Error(`only ${ready} of ${expected} processes listen on port ${port}`);
    await Bun.sleep(50);
  }
}

const apiPids = (supervisor: number) => () =>
  childrenOf(supervisor)
    .filter((c) => c.kind === "api")
    .map((c) => c.pid);

/** `bun scripts/start.ts` on a free port, plus the promoter if it exists but the supervisor does not run it. */
export async function startStack(env: Record<string, string>, apiWorkers: number): Promise<Pool> {
  const port = freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const fullEnv = { ...env, PORT: String(port), API_WORKERS: String(apiWorkers) };
  const supervisor = spawnTracked("stack", [bun, path.join(repoRoot, "scripts/start.ts")], fullEnv);
  const procs = [supervisor];
  const pool: Pool = {
    baseUrl,
    procs,
    children: () => [
      ...childrenOf(supervisor.proc.pid),
      ...procs.slice(1).map((t) => ({ pid: t.proc.pid, kind: "worker" as const, name: t.name })),
    ],
    stop: async () => {
      await Promise.allSettled(procs.map((t) => stopTracked(t)));
    },
  };
  try {
    await whileAlive(supervisor, waitForHttp(`${baseUrl}/health`, 60_000));
    await waitUntilAllListen(port, apiPids(supervisor.proc.pid), apiWorkers);
    const promoterFile = path.join(repoRoot, "workers", `${PROMOTER}.ts`);
    if (existsSync(promoterFile) && !childrenOf(supervisor.proc.pid).some((c) => c.name === PROMOTER)) {
      procs.push(spawnTracked(PROMOTER, [bun, promoterFile], fullEnv));
    }
  } catch (err) {
    await pool.stop();
    throw err;
  }
  return pool;
}

export function hasPromoter(pool: Pool): boolean {
  return pool.children().some((c) => c.name === PROMOTER);
}

/** `bun scripts/start-api.ts`: the API pool alone (no migrations, no workers). */
export async function startApiPool(env: Record<string, string>, apiWorkers: number): Promise<Pool> {
  const port = freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const supervisor = spawnTracked("api-pool", [bun, path.join(repoRoot, "scripts/start-api.ts")], {
    ...env,
    PORT: String(port),
    API_WORKERS: String(apiWorkers),
  });
  const pool: Pool = {
    baseUrl,
    procs: [supervisor],
    children: () => childrenOf(supervisor.proc.pid),
    stop: () => stopTracked(supervisor),
  };
  try {
    await whileAlive(supervisor, waitForHttp(`${baseUrl}/health`, 60_000));
    await waitUntilAllListen(port, apiPids(supervisor.proc.pid), apiWorkers);
  } catch (err) {
    await pool.stop();
    throw err;
  }
  return pool;
}

/** `processes` copies of bench/hello-server.ts sharing one port, like the API pool. */
export function startHelloPool(processes: number, blobFile: string): Promise<Pool> {
  return startScriptPool("hello", "hello-server.ts", processes, [blobFile], { PATH: process.env.PATH ?? "" });
}

/** `processes` copies of bench/minimal-booking-server.ts (the booking scenario's minimal app) on one port. */
export function startMinimalBookingPool(processes: number, env: Record<string, string>): Promise<Pool> {
  return startScriptPool("minimal-booking", "minimal-booking-server.ts", processes, [], env);
}

/** `processes` copies of a bench/ server script, each run as `bun <script> <port> ...args`, sharing one port. */
async function startScriptPool(
  name: string,
  script: string,
  processes: number,
  args: string[],
  env: Record<string, string>,
): Promise<Pool> {
  const port = freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const file = path.join(import.meta.dir, script);
  const procs = Array.from({ length: processes }, (_, i) =>
    spawnTracked(`${name}-${i + 1}`, [bun, file, String(port), ...args], env),
  );
  const pool: Pool = {
    baseUrl,
    procs,
    children: () => procs.map((t) => ({ pid: t.proc.pid, kind: "api" as const, name: t.name })),
    stop: async () => {
      await Promise.allSettled(procs.map((t) => stopTracked(t)));
    },
  };
  try {
    const listening = waitUntilAllListen(port, () => procs.map((t) => t.proc.pid), processes);
    await Promise.all(procs.map((t) => whileAlive(t, listening)));
  } catch (err) {
    await pool.stop();
    throw err;
  }
  return pool;
}

/** Peak resident set (VmHWM) of a process in MB, or undefined if it is gone. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return kb ? Number(kb[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
