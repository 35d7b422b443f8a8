import postgres from "postgres";
import { config } from "../config";
import { errorMessage } from "./error-message";
import { logger } from "./logger";
import { dbReads } from "./metrics";

/**
 * One postgres.js pool per process, and the only way the code queries PostgreSQL: tagged
 * templates sent as named prepared statements (parsed and planned once per connection).
 * Timeouts are set on the server session so that a client that dies mid-transaction cannot keep
 * a seat row locked, and an unreachable server fails fast.
 */
function createClient(url: string, max: number) {
  return postgres(url, {
    max,
    connect_timeout: 3,
    idle_timeout: config.DB_IDLE_TIMEOUT_S,
    prepare: true,
    onnotice: () => {},
    // Result columns come back camelCase and sql(obj) helpers write snake_case columns: rows are
    // typed from the Drizzle schema. Only column names: postgres.camel would also rename the keys
    // inside json/jsonb values (outbox payloads, stored idempotent responses), which must stay as
    // written.
    transform: { column: { from: postgres.toCamel, to: postgres.fromCamel } },
    // Our ids and counts fit in 2^53: read int8 as a number, not a string.
    types: {
      int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
    connection: {
      application_name: "evently",
      statement_timeout: config.DB_STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: 10_000,
      lock_timeout: 5_000,
    },
  });
}

export const sql = createClient(config.DATABASE_URL, config.DB_POOL_SIZE);
export type Sql = typeof sql;
export type Tx = postgres.TransactionSql<Sql extends postgres.Sql<infer T> ? T : never>;
/** Either the pool or an open transaction: every repo function takes one as its first argument. */
export type Executor = Sql | Tx;

/**
 * The read replica's pool (DATABASE_READ_URL), or the primary's when there is none. Never use it
 * directly: `onReplica` decides per read whether the replica may answer (docs/scale.md).
 */
export const readSql: Sql =
  config.DATABASE_READ_URL === config.DATABASE_URL
    ? sql
    : createClient(config.DATABASE_READ_URL, Math.max(2, Math.floor(config.DB_POOL_SIZE / 2)));

export const hasReplica = readSql !== sql;
let replicaDownUntil = 0;
let replicaDownSince = 0;
/** The highest replay position the replica has reported (pg_last_wal_replay_lsn), as a number. */
let replayedLsn = -1n;

/** "16/B374D848" → 0x16B374D848 */
export function parseLsn(lsn: string | null | undefined): bigint {
  if (!lsn) return -1n;
  const [hi = "0", lo = "0"] = lsn.split("/");
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

/** "none" (no replica configured), "ok", or "down" (its last read or probe failed; reads use the primary). */
export function replicaState(): "none" | "ok" | "down" {
  if (!hasReplica) return "none";
  return performance.now() < replicaDownUntil ? "down" : "ok";
}

function markReplicaDown(err: unknown): void {
  if (replicaDownSince === 0) {
    replicaDownSince = Date.now();
    logger.warn({ err: errorMessage(err) }, "read replica unavailable: its reads go to the primary");
  }
  replicaDownUntil = performance.now() + config.READ_REPLICA_CHECK_MS;
}

function markReplicaUp(): void {
  if (replicaDownSince !== 0) logger.info({ down_ms: Date.now() - replicaDownSince }, "read replica back in use");
  replicaDownSince = 0;
  replicaDownUntil = 0;
}

async function replicaReplayLsn(): Promise<bigint> {
  const [row] = await readSql<{ lsn: string | null }[]>`select pg_last_wal_replay_lsn()::text as lsn`;
  const lsn = parseLsn(row?.lsn);
  if (lsn > replayedLsn) replayedLsn = lsn;
  return lsn;
}

/** /ready's probe: asks the replica where it is (marks it down or up). */
export async function probeReplica(): Promise<"none" | "ok" | "down"> {
  if (!hasReplica) return "none";
  try {
    await replicaReplayLsn();
    markReplicaUp();
  } catch (err) {
    markReplicaDown(err);
  }
  return replicaState();
}

/**
 * Runs a read on the replica when the replica has replayed everything the primary had committed
 * when the read began; otherwise on the primary. So no reader, and no cache value built by a
 * loader, is ever older than a write whose answer was given before the read started: a client
 * always sees its own booking, whatever the replica's lag. Costs one `pg_current_wal_flush_lsn()`
 * on the primary per read (the replica's position is asked again only when the last one known is
 * behind). A replica that fails (down, restarting, query cancelled by recovery) is skipped for
 * READ_REPLICA_CHECK_MS and the read is run again on the primary.
 */
export async function onReplica<T>(read: (db: Sql) => Promise<T>): Promise<T> {
  if (!hasReplica) return read(sql);
  if (replicaState() === "down") {
    dbReads.inc({ target: "primary", reason: "replica_down" });
    return read(sql);
  }
  const [row] = await sql<{ lsn: string }[]>`select pg_current_wal_flush_lsn()::text as lsn`;
  const needed = parseLsn(row?.lsn);
  try {
    if (replayedLsn < needed && (await replicaReplayLsn()) < needed) {
      dbReads.inc({ target: "primary", reason: "replica_behind" });
      return read(sql);
    }
    const result = await read(readSql);
    dbReads.inc({ target: "replica", reason: "caught_up" });
    return result;
  } catch (err) {
    // The replica failed (a failure of the primary itself surfaces from the rerun below).
    markReplicaDown(err);
    dbReads.inc({ target: "primary", reason: "replica_down" });
    return read(sql);
  }
}

export async function closeDb(): Promise<void> {
  await sql.end({ timeout: 5 });
  if (readSql !== sql) await readSql.end({ timeout: 5 });
}
