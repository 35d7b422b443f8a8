import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Glob } from "bun";
import { type Percentiles, percentiles } from "./load-spec";
import { spawnTracked } from "./procs";

/**
 * The booking ceiling: pgbench sending the booking transaction of src/modules/bookings (the same
 * statements, in the same order, with the same locks) straight to PostgreSQL. Whatever the API
 * adds on top — HTTP, JSON, auth, validation, the pool — shows up as the distance to this.
 * Keep these in step with bookings.repo.ts: lockSeatsByNumber /
 * lockBestAvailable (which take the user lock too), readEventState, bookLockedSeats. `\if` stands for the service's checks: a
 * seat that is not free ends in ROLLBACK, as the service's 409 does.
 */

const READ_EVENT_STATE = `select e.name, e.venue, e.start_time <= now() as started, e.deleted_at is not null as deleted,
  (select count(*) from bookings b where b.user_id = :uid and b.event_id = :eid and b.status = 'BOOKED')::int as user_booked
  from events e where e.id = :eid;`;

const BOOK_LOCKED_SEAT = `with marked as (
    update seats set status = 'BOOKED', held_by = null, hold_expires_at = null
    where id = any(array[:sid]::bigint[]) returning id, seat_number)
  insert into bookings (user_id, event_id, seat_id, seat_number, status)
  select :uid, :eid, id, seat_number, 'BOOKED' from marked order by seat_number
  returning id as booking_id, seat_number, created_at;`;

const flat = (sql: string) => sql.replace(/\s*\n\s*/g, " ");

/** The service's checks after the locks: a free seat is booked and committed, else ROLLBACK (its 409). */
const BOOK_IF_FREE = [
  flat(READ_EVENT_STATE),
  "\\if :free = 1",
  flat(BOOK_LOCKED_SEAT),
  "commit;",
  "\\else",
  "rollback;",
  "\\endif",
];

/** POST /events/{id}/book/{seat_number} with a random user and seat. */
export const BOOK_RANDOM_SEAT = [
  "\\set uid random(:umin, :umax)",
  "\\set seat random(1, :nseats)",
  "begin;",
  flat(`select s.id as sid, s.seat_number, s.status, s.held_by, s.hold_expires_at < now() as hold_expired,
    (s.status = 'AVAILABLE')::int as free
    from (select pg_advisory_xact_lock(:uid::int4, :eid::int4)) as user_lock, seats s
    where s.event_id = :eid and s.seat_number = any(array[:seat]::int[])
    order by s.seat_number for update of s \\gset`),
  ...BOOK_IF_FREE,
].join("\n");

/** POST /events/{id}/bookings {quantity: 1}; wrapped in an aggregate so a sold-out event gives one row. */
export const BOOK_BEST_AVAILABLE = [
  "\\set uid random(:umin, :umax)",
  "begin;",
  flat(`select coalesce(min(id), 0) as sid, count(*)::int as free from (
    select s.id, s.seat_number, s.status, s.held_by, false as hold_expired
    from (select pg_advisory_xact_lock(:uid::int4, :eid::int4)) as user_lock, seats s
    where s.event_id = :eid and s.status = 'AVAILABLE' order by s.seat_number limit 1
    for update of s skip locked) s \\gset`),
  ...BOOK_IF_FREE,
].join("\n");

/**
 * The physical floor of a booking: the seed project's schema (users, events, seats, bookings with
 * their keys, foreign keys and the seat-number unique index, nothing else) in a database of its
 * own, and its minimal booking transaction: lock the seat, mark it, insert the booking, commit.
 * No per-user count, no holds, no outbox, no invariant triggers: whatever the API does above this
 * is what our guarantees and our stack cost.
 */
export const SEED_SCHEMA = `
create table users (id serial primary key, email text not null unique);
create table events (id serial primary key, name text not null, capacity int not null);
create table seats (
  id serial primary key, event_id int not null references events(id),
  seat_number int not null, status text not null default 'AVAILABLE', unique (event_id, seat_number));
create table bookings (
  id serial primary key, user_id int not null references users(id), event_id int not null references events(id),
  seat_id int not null references seats(id), status text not null default 'BOOKED',
  created_at timestamptz not null default now());
create index bookings_user_idx on bookings (user_id);
create index bookings_event_idx on bookings (event_id);`;

export const seedData = (users: number, seats: number) => `
insert into users (email) select 'u' || g || '@seed.test' from generate_series(1, ${users}) g;
insert into events (name, capacity) values ('seed', ${seats});
insert into seats (event_id, seat_number) select 1, g from generate_series(1, ${seats}) g;`;

/** The seed's booking of a random seat by a random user (event 1 of the seed database). */
export const SEED_BOOK_RANDOM_SEAT = [
  "\\set uid random(1, :nusers)",
  "\\set seat random(1, :nseats)",
  "begin;",
  "select id as sid, (status = 'AVAILABLE')::int as free from seats where event_id = 1 and seat_number = :seat for update \\gset",
  "\\if :free = 1",
  "update seats set status = 'BOOKED' where id = :sid;",
  "insert into bookings (user_id, event_id, seat_id, status) values (:uid, 1, :sid, 'BOOKED');",
  "commit;",
  "\\else",
  "rollback;",
  "\\endif",
].join("\n");

/** Our own booking, as the API sends it: one call of book_seats (migrations/0009_hot_path.sql). */
export const BOOK_SEATS_RANDOM_SEAT = [
  "\\set uid random(:umin, :umax)",
  "\\set seat random(1, :nseats)",
  "select book_seats(:uid, :eid, array[:seat]::int[], null::int, 100000);",
].join("\n");

export function findPgbench(): string | undefined {
  const installed = [...new Glob("/usr/lib/postgresql/*/bin/pgbench").scanSync({ absolute: true })];
  installed.sort((a, b) => Number(b.split("/")[4]) - Number(a.split("/")[4]));
  return installed[0] ?? Bun.which("pgbench") ?? undefined;
}

export interface PgbenchRun {
  pgbench: string;
  dbUrl: string;
  script: string;
  vars: Record<string, number>;
  clients: number;
  threads: number;
  /** Either a duration or a number of transactions per client. */
  durationS?: number;
  transactionsPerClient?: number;
}

export interface PgbenchResult {
  clients: number;
  transactions: number;
  failed: number;
  seconds: number;
  tps: number;
  latencyMs: Percentiles;
}

async function runOnce(run: PgbenchRun, mode: string[], logDir?: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "evently-pgbench-"));
  try {
    const scriptFile = path.join(dir, "booking.sql");
    await Bun.write(scriptFile, `${run.script}\n`);
    const args = [
      run.pgbench,
      "-n",
      "-M",
      "prepared",
      "-c",
      String(run.clients),
      "-j",
      String(run.threads),
      ...mode,
      "-f",
      scriptFile,
      ...Object.entries(run.vars).flatMap(([k, v]) => ["-D", `${k}=${v}`]),
      ...(logDir ? ["-l", `--log-prefix=${path.join(logDir, "tx")}`] : []),
      run.dbUrl,
    ];
    for (let attempt = 1; ; attempt++) {
      const child = spawnTracked("pgbench", args, { PATH: process.env.PATH ?? "" }, { keepStdout: true });
      const [code, out] = await Promise.all([child.proc.exited, child.stdout()]);
      if (code === 0) return out;
      // On a shared server other clients may hold the connection slots for a moment.
      if (attempt < 4 && child.tail().includes("too many clients")) {
        await Bun.sleep(2_000 * attempt);
        continue;
      }
      throw new Error(`pgbench failed (exit ${code}): ${lastError(child.tail())}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const lastError = (output: string) =>
  output
    .split("\n")
    .filter((l) => /error|FATAL/i.test(l))
    .slice(-2)
    .join(" / ") || output.split("\n").slice(-3).join(" / ");

/** Per-transaction latencies from pgbench's -l logs (third column, microseconds). */
function readLatencies(logDir: string): number[] {
  const samples: number[] = [];
  for (const file of readdirSync(logDir)) {
    for (const line of readFileSync(path.join(logDir, file), "utf8").split("\n")) {
      const micros = Number(line.split(" ")[2]);
      if (line && Number.isFinite(micros)) samples.push(micros / 1000);
    }
  }
  return samples;
}

export async function runPgbench(run: PgbenchRun): Promise<PgbenchResult> {
  const logDir = mkdtempSync(path.join(os.tmpdir(), "evently-pgbench-log-"));
  try {
    const mode =
      run.durationS !== undefined ? ["-T", String(run.durationS)] : ["-t", String(run.transactionsPerClient ?? 1)];
    const started = performance.now();
    const out = await runOnce(run, mode, logDir);
    const wall = (performance.now() - started) / 1000;
    const tps = Number(/^tps = ([\d.]+) \(without initial connection time\)/m.exec(out)?.[1] ?? Number.NaN);
    const transactions = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? 0);
    const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
    const latencies = readLatencies(logDir);
    return {
      clients: run.clients,
      transactions,
      failed,
      seconds: Number.isFinite(tps) && tps > 0 ? transactions / tps : wall,
      tps: Number.isFinite(tps) ? tps : transactions / wall,
      latencyMs: percentiles(latencies),
    };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}
