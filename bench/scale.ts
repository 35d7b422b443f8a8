import { parseArgs } from "node:util";
import { config } from "../src/config";
import { runMigrations } from "../src/db/migrate";
import { signAccessToken } from "../src/http/tokens";
import { errorMessage } from "../src/platform/error-message";
import { RedisClusterFixture } from "../tests/support/redis-cluster";
import { connect, dropDatabase, recreateDatabase } from "./database";
import { runLoad, target } from "./load";
import type { LoadResult } from "./load-spec";
import { bun, spawnTracked, stopAll } from "./procs";
import { createEvent, insertUsers } from "./seed";
import { stackEnv, startApiPool } from "./stack";

/**
 * `bun run bench:scale`: the same API pool against one Redis and against a 3-master Redis Cluster
 * on loopback (REDIS_CLUSTER_NODES), in one run: booking throughput (random seats of a large
 * event) and cached-GET throughput (one event document), and their ratio cluster / single. Then
 * the failover test (tests/scale/redis-cluster.test.ts, a master killed mid-traffic) and its
 * "bookings lost / duplicated" line. Short runs; figures go in docs/scale.md.
 */

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    concurrency: { type: "string", default: "32" },
    "api-workers": { type: "string", default: "2" },
    "skip-failover": { type: "boolean", default: false },
  },
});
const durationMs = Number(values.duration) * 1000;
const concurrency = Number(values.concurrency);
const apiWorkers = Number(values["api-workers"]);
const SEATS = 50_000;
const log = (line: string) => process.stdout.write(`[bench:scale] ${line}\n`);

interface ModeResult {
  mode: string;
  booking: LoadResult;
  get: LoadResult;
}

async function measure(mode: string, env: Record<string, string>, dbUrl: string): Promise<ModeResult> {
  // The tokens below are signed with this process's secret.
  const pool = await startApiPool(stackEnv({ ...env, DATABASE_URL: dbUrl, JWT_SECRET: config.JWT_SECRET }), apiWorkers);
  try {
    const sql = connect(dbUrl);
    const tag = `${mode.split(" ")[0]?.toLowerCase()}${Date.now()}`;
    const users = await insertUsers(sql, 500, tag);
    const [admin] = await sql<{ id: number; tokenVersion: number }[]>`
      update users set is_admin = true where id = ${users[0]?.id ?? 0} returning id::int, token_version`;
    await sql.end();
    const adminToken = await signAccessToken(admin as { id: number; tokenVersion: number });
    const bookingEvent = await createEvent(pool.baseUrl, adminToken, `scale booking ${mode}`, SEATS);
    const getEvent = await createEvent(pool.baseUrl, adminToken, `scale get ${mode}`, 100);
    const { host, port } = target(pool.baseUrl);
    const base = { host, port, concurrency, warmupMs: 1_000, durationMs, tokenUse: "random" as const };
    const booking = await runLoad({
      ...base,
      method: "POST",
      path: `/api/v1/events/${bookingEvent}/book/{n}`,
      randomMax: SEATS,
      tokens: users.slice(1).map((u) => u.token),
    });
    const get = await runLoad({ ...base, method: "GET", path: `/api/v1/events/${getEvent}` });
    log(
      `${mode}: booking ${booking.rps.toFixed(0)} req/s (${JSON.stringify(booking.statuses)}), cached GET ${get.rps.toFixed(0)} req/s (${JSON.stringify(get.statuses)})`,
    );
    return { mode, booking, get };
  } finally {
    await pool.stop();
  }
}

async function failoverLine(): Promise<string[]> {
  const child = spawnTracked(
    "failover-test",
    [bun, "test", "tests/scale/redis-cluster.test.ts", "-t", "killed mid-traffic"],
    stackEnv({ LOG_LEVEL: "silent" }),
    { keepStdout: true },
  );
  const [code, out] = await Promise.all([child.proc.exited, child.stdout()]);
  const lines = out.split("\n").filter((l) => l.startsWith("failover:"));
  if (code !== 0) lines.push(`failover test FAILED (exit ${code})`);
  return lines;
}

const DB = "evently_bench_scale";
const cluster = new RedisClusterFixture(3, 0);
let exitCode = 0;
try {
  const dbUrl = await recreateDatabase(config.DATABASE_URL, DB);
  await runMigrations(dbUrl);
  await cluster.start();
  const prefix = `bench-scale:${process.pid}:`;
  const singleEnv = { REDIS_KEY_PREFIX: `${prefix}single:` };
  const clusterEnv = { REDIS_KEY_PREFIX: `${prefix}cluster:`, REDIS_CLUSTER_NODES: cluster.seedList };
  // A B B A: a drift of the shared machine's load during the run falls on both sides alike.
  const runs: ModeResult[] = [];
  runs.push(await measure("single Redis", singleEnv, dbUrl));
  runs.push(await measure("Redis Cluster", clusterEnv, dbUrl));
  runs.push(await measure("Redis Cluster", clusterEnv, dbUrl));
  runs.push(await measure("single Redis", singleEnv, dbUrl));
  const mean = (mode: string, pick: (r: ModeResult) => LoadResult): LoadResult => {
    const of = runs.filter((r) => r.mode === mode).map(pick);
    return { ...(of[0] as LoadResult), rps: of.reduce((n, r) => n + r.rps, 0) / of.length };
  };
  const single = { booking: mean("single Redis", (r) => r.booking), get: mean("single Redis", (r) => r.get) };
  const clustered = { booking: mean("Redis Cluster", (r) => r.booking), get: mean("Redis Cluster", (r) => r.get) };
  const ratio = (a: LoadResult, b: LoadResult) => (a.rps / b.rps).toFixed(2);
  const rows = [
    "| scenario | single Redis | Redis Cluster (3 masters) | ratio cluster / single |",
    "| --- | --- | --- | --- |",
    `| booking (POST /events/{id}/book/{n}, random seat of ${SEATS}) | ${single.booking.rps.toFixed(0)} req/s | ${clustered.booking.rps.toFixed(0)} req/s | ${ratio(clustered.booking, single.booking)} |`,
    `| cached GET /events/{id} | ${single.get.rps.toFixed(0)} req/s | ${clustered.get.rps.toFixed(0)} req/s | ${ratio(clustered.get, single.get)} |`,
  ];
  process.stdout.write(`\n${rows.join("\n")}\n\n`);
  if (!values["skip-failover"]) {
    await cluster.dispose();
    log("failover: tests/scale/redis-cluster.test.ts -t 'killed mid-traffic'");
    for (const line of await failoverLine()) process.stdout.write(`${line}\n`);
  }
  await dropDatabase(config.DATABASE_URL, DB);
} catch (err) {
  log(`FAILED: ${errorMessage(err)}`);
  exitCode = 1;
} finally {
  await stopAll(5_000);
  await cluster.dispose();
}
process.exit(exitCode);
