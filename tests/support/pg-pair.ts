import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { runMigrations } from "../../src/db/migrate";
import { freePortRun } from "./processes";
import { waitFor } from "./wait";

export const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** The binaries a private PostgreSQL pair needs, missing ones listed. */
export function missingPgBinaries(): string[] {
  return ["initdb", "pg_ctl", "pg_basebackup", "postgres"].filter((b) => !existsSync(path.join(PG_BIN, b)));
}

function uidOf(user: string): { uid: number; gid: number } {
  const out = Bun.spawnSync(["id", "-u", user]).stdout.toString().trim();
  const gid = Bun.spawnSync(["id", "-g", user]).stdout.toString().trim();
  if (!out) throw new Error(`no OS user ${user}`);
  return { uid: Number(out), gid: Number(gid) };
}

/** Runs a PostgreSQL binary as the postgres OS user (the server refuses to run as root). */
async function asPostgres(args: string[], what: string): Promise<string> {
  const cmd = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...args] : args;
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  if ((await proc.exited) !== 0) throw new Error(`${what} failed: ${err || out}`);
  return out;
}

/**
 * A private PostgreSQL 15 primary and a streaming replica of it (pg_basebackup -R -X stream), in
 * a temp folder, on two free loopback ports, so that a test can pause the replica's replay, stop
 * it or kill it without touching the machine's PostgreSQL. `dispose()` stops both, removes the folder.
 */
export class PgPrimaryReplica {
  readonly root = mkdtempSync(path.join(os.tmpdir(), "evently-pg-"));
  readonly primaryPort: number;
  readonly replicaPort: number;
  readonly database = "evently_scale";
  private readonly primaryDir = path.join(this.root, "primary");
  private readonly replicaDir = path.join(this.root, "replica");
  private replicaRunning = false;
  private primaryRunning = false;

  constructor() {
    const base = freePortRun(2);
    this.primaryPort = base;
    this.replicaPort = base + 1;
  }

  url(which: "primary" | "replica", host = "127.0.0.1"): string {
    const port = which === "primary" ? this.primaryPort : this.replicaPort;
    return `postgres://postgres@${host}:${port}/${this.database}`;
  }

  /** initdb + start the primary, create and migrate the database, then clone and start the replica. */
  async start(opts: { listen?: string; replica?: boolean } = {}): Promise<void> {
    const { uid, gid } = uidOf("postgres");
    chownSync(this.root, uid, gid);
    const sockets = path.join(this.root, "sockets");
    mkdirSync(sockets);
    chownSync(sockets, uid, gid);
    const listen = opts.listen ?? "127.0.0.1";
    await asPostgres(
      [`${PG_BIN}/initdb`, "-D", this.primaryDir, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"],
      "initdb",
    );
    writeFileSync(
      path.join(this.primaryDir, "pg_hba.conf"),
      "local all all trust\nhost all all 0.0.0.0/0 trust\nhost replication all 0.0.0.0/0 trust\n",
    );
    const settings = [
      `listen_addresses='${listen}'`,
      `unix_socket_directories='${sockets}'`,
      "wal_level=replica",
      "max_wal_senders=5",
      "max_connections=200",
      "fsync=off",
      "synchronous_commit=on",
      "shared_buffers=32MB",
      "hot_standby=on",
      // A query the replay would conflict with waits at most this long, then is cancelled.
      "max_standby_streaming_delay=5s",
    ];
    writeFileSync(path.join(this.primaryDir, "postgresql.auto.conf"), `${settings.join("\n")}\n`);
    chownSync(path.join(this.primaryDir, "pg_hba.conf"), uid, gid);
    chownSync(path.join(this.primaryDir, "postgresql.auto.conf"), uid, gid);
    await this.pgCtl(this.primaryDir, this.primaryPort, "start");
    this.primaryRunning = true;
    const admin = postgres(`postgres://postgres@${listen.split(",")[0]}:${this.primaryPort}/postgres`, {
      max: 1,
      onnotice: () => {},
    });
    try {
      await admin.unsafe(`create database ${this.database}`);
    } finally {
      await admin.end();
    }
    await runMigrations(this.url("primary", listen.split(",")[0]));
    if (opts.replica === false) return;
    await asPostgres(
      [
        `${PG_BIN}/pg_basebackup`,
        "-h",
        listen.split(",")[0] as string,
        "-p",
        String(this.primaryPort),
        "-U",
        "postgres",
        "-D",
        this.replicaDir,
        "-R",
        "-X",
        "stream",
        "--no-sync",
        // Without it the backup waits for a spread checkpoint (minutes).
        "--checkpoint=fast",
      ],
      "pg_basebackup",
    );
    await this.startReplica();
  }

  private async pgCtl(dir: string, port: number, action: "start" | "stop" | "kill"): Promise<void> {
    if (action === "start") {
      await asPostgres(
        [
          `${PG_BIN}/pg_ctl`,
          "-D",
          dir,
          "-o",
          `-p ${port}`,
          "-l",
          path.join(dir, "server.log"),
          "-w",
          "-t",
          "30",
          "start",
        ],
        `pg_ctl start ${dir}`,
      );
    } else {
      await asPostgres(
        [`${PG_BIN}/pg_ctl`, "-D", dir, "-m", action === "kill" ? "immediate" : "fast", "-w", "-t", "30", "stop"],
        `pg_ctl stop ${dir}`,
      );
    }
  }

  async startReplica(): Promise<void> {
    await this.pgCtl(this.replicaDir, this.replicaPort, "start");
    this.replicaRunning = true;
    const c = postgres(this.url("replica"), { max: 1, onnotice: () => {} });
    try {
      await waitFor(
        async () => {
          const [row] = await c`select pg_is_in_recovery() as r, pg_last_wal_replay_lsn() is not null as s`.catch(
            () => [],
          );
          return Boolean(row?.r && row.s);
        },
        "the replica streaming",
        30_000,
      );
    } finally {
      await c.end();
    }
  }

  /** Stops the replica at once (pg_ctl -m immediate: like a crash). */
  async killReplica(): Promise<void> {
    if (!this.replicaRunning) return;
    this.replicaRunning = false;
    await this.pgCtl(this.replicaDir, this.replicaPort, "kill");
  }

  /** Runs `select <fn>()` on the replica: pg_wal_replay_pause / pg_wal_replay_resume. */
  async replay(action: "pause" | "resume"): Promise<void> {
    const c = postgres(this.url("replica"), { max: 1, onnotice: () => {} });
    try {
      await c.unsafe(`select pg_wal_replay_${action}()`);
    } finally {
      await c.end();
    }
  }

  async dispose(): Promise<void> {
    if (this.replicaRunning) await this.killReplica().catch(() => {});
    if (this.primaryRunning) {
      this.primaryRunning = false;
      await this.pgCtl(this.primaryDir, this.primaryPort, "kill").catch(() => {});
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
