import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { config } from "../src/config";
import { connect, dropDatabase, recreateDatabase, type Sql } from "./database";
import type { BenchOptions } from "./options";
import { WARM_BUYERS, WARM_SALES, WARM_SEATS } from "./scenarios/flash-sale";
import { type BenchUser, createEvent, fetchText, insertUsers, login } from "./seed";
import { type ChildProcess, type Pool, stackEnv, startHelloPool, startStack } from "./stack";

/** Everything the scenarios share: the processes under test, the database, users and events. */
export interface BenchContext {
  options: BenchOptions;
  baseUrl: string;
  /** Set when the bench started the stack itself (default mode); undefined with --url. */
  local?: {
    stack: Pool;
    env: Record<string, string>;
    dbUrl: string;
    sql: Sql;
    users: BenchUser[];
    /** The stack's processes right after start, to tell afterwards whether one was restarted. */
    initialChildren: ChildProcess[];
  };
  hello: Pool;
  adminToken: string;
  events: {
    get: number;
    seatMap: number;
    bookingApi?: number;
    bookingPgbench?: number;
    bookingMinimal?: number;
    flashApi?: number;
    flashPgbench?: number;
    /** One event per warm sale (WARM_SALES). */
    flashWarmApi?: number[];
  };
  seatMapBytes: number;
  workDir: string;
  /** Undo everything setup did, in reverse order; safe to call more than once. */
  teardown(): Promise<void>;
}

export async function setUp(options: BenchOptions, log: (line: string) => void): Promise<BenchContext> {
  const undo: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const step of undo.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    const workDir = mkdtempSync(path.join(os.tmpdir(), "evently-bench-"));
    undo.push(async () => rmSync(workDir, { recursive: true, force: true }));
    let baseUrl: string;
    let local: BenchContext["local"];
    let adminToken: string;
    const events: BenchContext["events"] = { get: 0, seatMap: 0 };

    if (options.url) {
      baseUrl = options.url;
      const email = options.adminEmail ?? config.ADMIN_EMAIL;
      const password = options.adminPassword ?? config.ADMIN_PASSWORD;
      if (!email || !password) throw new Error("--url needs admin credentials (--admin-email/--admin-password)");
      adminToken = await login(baseUrl, email, password);
    } else {
      log(`database ${options.dbName} (fresh), starting the stack with ${options.apiWorkers} API processes`);
      const dbUrl = await recreateDatabase(config.DATABASE_URL, options.dbName);
      if (!options.keepDb) undo.push(() => dropDatabase(config.DATABASE_URL, options.dbName));
      const tag = randomBytes(4).toString("hex");
      const admin = { email: `bench-admin-${tag}@bench.test`, password: randomBytes(12).toString("hex") };
      const env = stackEnv({
        DATABASE_URL: dbUrl,
        DATABASE_READ_URL: dbUrl,
        REDIS_URL: config.REDIS_URL,
        REDIS_KEY_PREFIX: `bench:${tag}:`,
        JWT_SECRET: config.JWT_SECRET,
        ADMIN_EMAIL: admin.email,
        ADMIN_PASSWORD: admin.password,
      });
      undo.push(() => deleteRedisKeys(config.REDIS_URL, `bench:${tag}:`));
      const stack = await startStack(env, options.apiWorkers);
      undo.push(() => stack.stop());
      baseUrl = stack.baseUrl;
      const sql = connect(dbUrl);
      undo.push(() => sql.end({ timeout: 5 }));
      adminToken = await login(baseUrl, admin.email, admin.password);
      const needed = Math.max(
        options.users,
        options.flashUsers,
        WARM_BUYERS,
        2 * options.waitlistReleases,
        options.liveSeats,
      );
      log(`loading ${needed} users and the events`);
      const users = await insertUsers(sql, needed, tag);
      local = { stack, env, dbUrl, sql, users, initialChildren: stack.children() };
      events.bookingApi = await createEvent(baseUrl, adminToken, "booking (API)", options.bookingSeats);
      events.bookingPgbench = await createEvent(baseUrl, adminToken, "booking (pgbench)", options.bookingSeats);
      events.bookingMinimal = await createEvent(baseUrl, adminToken, "booking (minimal app)", options.bookingSeats);
      events.flashApi = await createEvent(baseUrl, adminToken, "flash sale (API)", options.flashSeats);
      events.flashPgbench = await createEvent(baseUrl, adminToken, "flash sale (pgbench)", options.flashSeats);
      events.flashWarmApi = [];
      for (let i = 1; i <= WARM_SALES; i++) {
        events.flashWarmApi.push(await createEvent(baseUrl, adminToken, `flash sale, warm ${i} (API)`, WARM_SEATS));
      }
      await settle(sql);
    }
    events.get = await createEvent(baseUrl, adminToken, "cached GET", 1_000);
    events.seatMap = await createEvent(baseUrl, adminToken, "seat map", options.seatMapSeats);

    // The hello pool's /blob serves the very bytes of the seat map, so the seat-map row compares
    // building them with merely sending them.
    const seatMap = await fetchText(`${baseUrl}/api/v1/events/${events.seatMap}/seats`);
    const blobFile = path.join(workDir, "seat-map.json");
    await Bun.write(blobFile, seatMap);
    const hello = await startHelloPool(options.apiWorkers, blobFile);
    undo.push(() => hello.stop());

    return {
      options,
      baseUrl,
      local,
      hello,
      adminToken,
      events,
      seatMapBytes: Buffer.byteLength(seatMap),
      workDir,
      teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}

/** Removes the run's Redis keys (a bench-only SCAN over its own prefix, after the stack stopped). */
async function deleteRedisKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 1_000 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

/**
 * After the bulk load: fresh statistics, no pending autovacuum of the new rows, dirty pages
 * written, so neither side of the first comparison pays for the load (the API side runs first).
 */
async function settle(sql: Sql): Promise<void> {
  await sql`vacuum analyze users, events, seats, bookings`;
  await sql`checkpoint`.catch(() => {}); // needs superuser or pg_checkpoint; best effort
}
