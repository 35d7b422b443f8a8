import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";
import Redis, { Cluster } from "ioredis";
import { freePortRun } from "./processes";
import { waitFor } from "./wait";

/** Where a binary is, or undefined: tests check for what they need before starting anything. */
export function findBinary(name: string, dirs: string[] = []): string | undefined {
  for (const dir of [...dirs, ...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/sbin"]) {
    const file = path.join(dir, name);
    if (dir && existsSync(file)) return file;
  }
  return undefined;
}

interface Node {
  port: number;
  dir: string;
  proc: Subprocess | undefined;
}

/**
 * A real Redis Cluster on loopback in a temp folder: `masters` masters with `replicasPerMaster`
 * replicas each (redis-server --cluster-enabled yes, then redis-cli --cluster create). Nodes keep
 * nothing on disk (--save "" --appendonly no); a short cluster-node-timeout makes a killed master's
 * replica take over within a few seconds. `dispose()` kills every node and removes the folder.
 */
export class RedisClusterFixture {
  readonly nodes: Node[] = [];
  readonly exits: string[] = [];
  private readonly root = mkdtempSync(path.join(os.tmpdir(), "evently-cluster-"));

  constructor(
    private readonly masters = 3,
    private readonly replicasPerMaster = 0,
    private readonly nodeTimeoutMs = 1_000,
  ) {}

  /** "127.0.0.1:P1,127.0.0.1:P2,…": the value of REDIS_CLUSTER_NODES. */
  get seedList(): string {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`).join(",");
  }

  async start(): Promise<void> {
    // A node exits at once when its cluster bus port (port + 10000) is taken: try other ports.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce();
      } catch (err) {
        if (attempt >= 3 || this.exits.length === 0) throw err;
        for (const node of this.nodes) node.proc?.kill("SIGKILL");
        for (const node of this.nodes) await node.proc?.exited;
        for (const node of this.nodes.splice(0)) rmSync(node.dir, { recursive: true, force: true });
        this.exits.length = 0;
      }
    }
  }

  private async startOnce(): Promise<void> {
    const count = this.masters * (1 + this.replicasPerMaster);
    // Cluster bus ports are port + 10000: pick a run whose bus ports are free too.
    const base = freePortRun(count);
    for (let i = 0; i < count; i++) {
      const port = base + i;
      const dir = path.join(this.root, String(port));
      mkdirSync(dir);
      this.nodes.push({ port, dir, proc: undefined });
    }
    for (const node of this.nodes) this.spawn(node);
    for (const node of this.nodes) await this.waitForPing(node.port);
    const create = Bun.spawn(
      [
        "redis-cli",
        "--cluster",
        "create",
        ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
        "--cluster-replicas",
        String(this.replicasPerMaster),
        "--cluster-yes",
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    const out = await new Response(create.stdout).text();
    if ((await create.exited) !== 0) throw new Error(`redis-cli --cluster create failed:\n${out}`);
    await this.waitHealthy();
  }

  private spawn(node: Node): void {
    node.proc = Bun.spawn(
      [
        "redis-server",
        "--port",
        String(node.port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        path.join(node.dir, "nodes.conf"),
        "--cluster-node-timeout",
        String(this.nodeTimeoutMs),
        "--dir",
        node.dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        // A replica is in sync within a second of joining (the default waits 5 s for more replicas).
        "--repl-diskless-sync-delay",
        "0",
        "--logfile",
        path.join(node.dir, "redis.log"),
      ],
      {
        stdout: "ignore",
        stderr: "ignore",
        onExit: (_p, code) => {
          if (node.proc && code !== null && code !== 0) {
            const log = existsSync(path.join(node.dir, "redis.log"))
              ? readFileSync(path.join(node.dir, "redis.log"), "utf8").trim().split("\n").slice(-2).join(" / ")
              : "";
            this.exits.push(`redis-server ${node.port} exited ${code}: ${log}`);
          }
        },
      },
    );
  }

  private async waitForPing(port: number): Promise<void> {
    const probe = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
    probe.on("error", () => {});
    try {
      await waitFor(
        async () => {
          try {
            if (probe.status !== "ready") await probe.connect();
            return (await probe.ping()) === "PONG";
          } catch {
            return false;
          }
        },
        `redis-server on ${port} (${this.exits.join("; ") || "running"})`,
        10_000,
      );
    } finally {
      probe.disconnect();
    }
  }

  /** CLUSTER INFO of a node, as a map. */
  async info(port: number): Promise<Record<string, string>> {
    const c = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
    c.on("error", () => {});
    try {
      await c.connect();
      const text = (await c.cluster("INFO")) as string;
      return Object.fromEntries(
        text
          .split("\r\n")
          .filter(Boolean)
          .map((l) => l.split(":") as [string, string]),
      );
    } finally {
      c.disconnect();
    }
  }

  /** INFO replication of a node, as a map. */
  async replication(port: number): Promise<Record<string, string>> {
    const c = new Redis(port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
    c.on("error", () => {});
    try {
      await c.connect();
      const text = await c.info("replication");
      return Object.fromEntries(
        text
          .split("\r\n")
          .filter((l) => l.includes(":"))
          .map((l) => l.split(":") as [string, string]),
      );
    } finally {
      c.disconnect();
    }
  }

  /**
   * Every live node says cluster_state:ok and knows the expected number of masters, and every
   * replica has finished its first sync (a replica that never synced cannot take over).
   */
  async waitHealthy(timeoutMs = 30_000, replicasSynced = true): Promise<void> {
    await waitFor(
      async () => {
        for (const n of this.nodes.filter((x) => x.proc)) {
          const info = await this.info(n.port).catch(() => undefined);
          if (info?.cluster_state !== "ok" || Number(info.cluster_size) !== this.masters) return false;
          if (!replicasSynced) continue;
          const repl = await this.replication(n.port).catch(() => undefined);
          if (repl?.role === "slave" && repl.master_link_status !== "up") return false;
        }
        return true;
      },
      "cluster_state:ok on every node",
      timeoutMs,
    );
  }

  /** Ports of the current masters (asked from a live node). */
  async masterPorts(): Promise<number[]> {
    const live = this.nodes.find((n) => n.proc);
    if (!live) return [];
    const c = new Redis(live.port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
    c.on("error", () => {});
    try {
      await c.connect();
      const text = (await c.cluster("NODES")) as string;
      return text
        .split("\n")
        .filter((l) => l.includes("master") && !l.includes("fail"))
        .map((l) => Number(l.split(" ")[1]?.split(":")[1]?.split("@")[0]));
    } finally {
      c.disconnect();
    }
  }

  /** Port of the master serving `key`'s slot (the full key, prefix included). */
  async ownerOf(key: string): Promise<number> {
    const live = this.nodes.find((n) => n.proc);
    if (!live) throw new Error("no live node");
    const c = new Redis(live.port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
    c.on("error", () => {});
    try {
      await c.connect();
      const slot = Number(await c.cluster("KEYSLOT", key));
      const ranges = (await c.cluster("SLOTS")) as unknown as [number, number, [string, number]][];
      const range = ranges.find(([from, to]) => slot >= from && slot <= to);
      if (!range) throw new Error(`slot ${slot} is not served`);
      return range[2][1];
    } finally {
      c.disconnect();
    }
  }

  /** kill -9 of one node. */
  async kill(port: number): Promise<void> {
    const node = this.nodes.find((n) => n.port === port);
    node?.proc?.kill("SIGKILL");
    await node?.proc?.exited;
    if (node) node.proc = undefined;
  }

  /** A cluster client for the test's own checks. */
  client(keyPrefix = ""): Cluster {
    const c = new Cluster(
      this.nodes.map((n) => ({ host: "127.0.0.1", port: n.port })),
      { keyPrefix, retryDelayOnClusterDown: 100, retryDelayOnFailover: 100 },
    );
    c.on("error", () => {});
    return c;
  }

  async dispose(): Promise<void> {
    for (const node of this.nodes) {
      node.proc?.kill("SIGKILL");
      await node.proc?.exited;
      node.proc = undefined;
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
