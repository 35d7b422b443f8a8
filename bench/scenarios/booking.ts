import postgres from "postgres";
import { config } from "../../src/config";
import { errorMessage } from "../../src/platform/error-message";
import { dropDatabase, recreateDatabase } from "../database";
import type { LoadResult } from "../load-spec";
import {
  BOOK_SEATS_RANDOM_SEAT,
  findPgbench,
  type PgbenchResult,
  type PgbenchRun,
  runPgbench,
  SEED_BOOK_RANDOM_SEAT,
  SEED_SCHEMA,
  seedData,
} from "../pgbench";
import { fmt, type Row, skippedRow } from "../report";
import type { BenchContext } from "../setup";
import { type Pool, startMinimalBookingPool } from "../stack";
import {
  latencySummary,
  median,
  mergeLatencies,
  mergeLoads,
  pgbenchClients,
  roundsOf,
  share,
  timedLoad,
} from "./common";

const SCENARIO = "booking: random free seat, many users";
const ROW = { key: "booking", scenario: SCENARIO } as const;

/**
 * Scenario 1. Many users book random seats of one large event through
 * POST /events/{id}/book/{n}. References, with the same number of transactions in flight and in
 * pgbench's prepared mode (postgres.js sends named prepared statements too): the seed's minimal
 * booking transaction on the seed's schema in a database of its own (the ratio's denominator),
 * and our own book_seats call on a second, equally fresh event (what the database part of our
 * booking costs). The API and the seed transaction run in alternating rounds (API, seed, API, …,
 * as compareLoads does for the reads) after one warm-up each; the ratio is the median of the
 * rounds' ratios of API requests/s over the seed transaction's tx/s. Each round also loads a third
 * event through the minimal app (bench/minimal-booking-server.ts: the same book_seats behind only
 * a token check), shown beside: how much of the distance is our API rather than the database.
 */
export async function benchBooking(ctx: BenchContext): Promise<{ row: Row; raw: unknown }> {
  const local = ctx.local;
  if (!local || !ctx.events.bookingApi || !ctx.events.bookingPgbench || !ctx.events.bookingMinimal) {
    return { row: skippedRow("booking", SCENARIO, "skipped: needs the local database (--url)"), raw: null };
  }
  const seats = ctx.options.bookingSeats;
  const users = local.users.slice(0, ctx.options.users);
  const tokens = users.map((u) => u.token);
  /** Random seats of `eventId` booked through `baseUrl` for `durationS` seconds. */
  const bookingLoad =
    (baseUrl: string, eventId: number) =>
    (durationS: number, warmupS = 0) =>
      timedLoad({ ...ctx, options: { ...ctx.options, durationS, warmupS } }, baseUrl, {
        method: "POST",
        path: `/api/v1/events/${eventId}/book/{n}`,
        randomMax: seats,
        tokens,
      });
  const apiLoad = bookingLoad(ctx.baseUrl, ctx.events.bookingApi);
  const summary = (api: LoadResult) =>
    `${fmt.rps(api.rps)} (201: ${fmt.pct(share(api, 201))}, ${latencySummary(api.latencyMs)})`;

  const pgbench = findPgbench();
  if (!pgbench) {
    const api = await apiLoad(ctx.options.durationS, ctx.options.warmupS);
    return { row: { ...ROW, evently: summary(api), reference: "n/a (pgbench not found)", ratio: "n/a" }, raw: { api } };
  }
  let seed: Awaited<ReturnType<typeof seedDatabase>> | undefined;
  let minimal: Pool | undefined;
  try {
    seed = await seedDatabase(ctx, pgbench, seats, users.length);
    minimal = await startMinimalBookingPool(ctx.options.apiWorkers, {
      PATH: process.env.PATH ?? "",
      DATABASE_URL: local.dbUrl,
      JWT_SECRET: local.env.JWT_SECRET ?? "",
      DB_POOL_SIZE: String(config.DB_POOL_SIZE),
      MAX_SEATS_PER_USER_PER_EVENT: local.env.MAX_SEATS_PER_USER_PER_EVENT ?? "",
    });
    const minimalLoad = bookingLoad(minimal.baseUrl, ctx.events.bookingMinimal);
    if (ctx.options.warmupS > 0) {
      await apiLoad(ctx.options.warmupS);
      await seed.slice(ctx.options.warmupS);
      await minimalLoad(ctx.options.warmupS);
    }
    const rounds = roundsOf(ctx.options.durationS);
    const sliceS = Math.max(1, Math.floor(ctx.options.durationS / rounds));
    const apiSlices: LoadResult[] = [];
    const seedSlices: Slice[] = [];
    const minimalSlices: LoadResult[] = [];
    for (let r = 0; r < rounds; r++) {
      apiSlices.push(await apiLoad(sliceS));
      seedSlices.push(await seed.slice(sliceS));
      minimalSlices.push(await minimalLoad(sliceS));
    }
    const roundRatios = apiSlices.map((a, r) => a.rps / (seedSlices[r]?.tps || Number.NaN));
    const ratio = median(roundRatios);
    const minimalRatio = median(apiSlices.map((a, r) => a.rps / (minimalSlices[r]?.rps || Number.NaN)));
    const api = mergeLoads(apiSlices);
    const seedAll = mergePgbench(seedSlices);
    const minimalAll = mergeLoads(minimalSlices);
    const ours = await bookSeatsReference(ctx, pgbench, users);
    const reference =
      `pgbench -M prepared, ${seedAll.clients} clients: seed transaction on the seed schema ${fmt.tps(seedAll.tps)} ` +
      `(booked ${fmt.pct(seedAll.bookedShare)}, ${latencySummary(seedAll.latencyMs)}; ${rounds} rounds alternating with the API, ratio their median); ` +
      `our book_seats ${fmt.tps(ours.tps)} (${fmt.ratio(ours.tps / seedAll.tps)} of the seed's); ` +
      `a minimal Hono app calling the same book_seats ${fmt.rps(minimalAll.rps)} (201: ${fmt.pct(share(minimalAll, 201))}, ` +
      `${latencySummary(minimalAll.latencyMs)}; the API at ${fmt.ratio(minimalRatio)} of it, same rounds)`;
    const row: Row = { ...ROW, evently: summary(api), reference, ratio: fmt.ratio(ratio), ratioValue: ratio };
    return {
      row,
      raw: { api, seedPgbench: seedAll, bookSeatsPgbench: ours, minimalApp: minimalAll, roundRatios, minimalRatio },
    };
  } catch (err) {
    const row: Row = { ...ROW, evently: "n/a", reference: `FAILED: ${errorMessage(err)}`, ratio: "n/a" };
    return { row, raw: { pgbench: { error: errorMessage(err) } } };
  } finally {
    await minimal?.stop();
    await seed?.drop();
  }
}

type Slice = PgbenchResult & { bookedShare: number };

/** Slices of the seed transaction's pgbench as one: counts summed, latencies as mergeLatencies says. */
function mergePgbench(slices: Slice[]): Slice {
  const transactions = slices.reduce((n, s) => n + s.transactions, 0);
  const seconds = slices.reduce((n, s) => n + s.seconds, 0);
  const booked = slices.reduce((n, s) => n + s.bookedShare * s.transactions, 0);
  return {
    clients: slices[0]?.clients ?? 0,
    transactions,
    failed: slices.reduce((n, s) => n + s.failed, 0),
    seconds,
    tps: seconds ? transactions / seconds : 0,
    bookedShare: transactions ? booked / transactions : 0,
    latencyMs: mergeLatencies(slices.map((s) => ({ latencyMs: s.latencyMs, count: s.transactions }))),
  };
}

/** One pgbench run of `durationS` seconds, and the share of its transactions that booked a seat. */
async function bookingRun(run: PgbenchRun, booked: () => Promise<number>, durationS: number): Promise<Slice> {
  const before = await booked();
  const ref = await runPgbench({ ...run, durationS });
  return { ...ref, bookedShare: ref.transactions ? ((await booked()) - before) / ref.transactions : 0 };
}

/** A warm-up run (discarded), then the measured one; the share of runs that booked a seat. */
async function measured(
  ctx: BenchContext,
  run: PgbenchRun,
  booked: () => Promise<number>,
): Promise<Slice & { threads: number }> {
  if (ctx.options.warmupS > 0) await runPgbench({ ...run, durationS: ctx.options.warmupS });
  return { ...(await bookingRun(run, booked, ctx.options.durationS)), threads: run.threads };
}

/**
 * The seed's schema and data in `<db-name>_seed`, created here: `slice(s)` runs the seed
 * transaction in pgbench for s seconds (and says what share of it booked a seat), `drop()` ends it.
 */
async function seedDatabase(ctx: BenchContext, pgbench: string, seats: number, users: number) {
  const name = `${ctx.options.dbName}_seed`;
  const dbUrl = await recreateDatabase(config.DATABASE_URL, name);
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  const drop = async () => {
    await sql.end({ timeout: 5 });
    if (!ctx.options.keepDb) await dropDatabase(config.DATABASE_URL, name);
  };
  try {
    await sql.unsafe(SEED_SCHEMA);
    await sql.unsafe(seedData(users, seats));
    await sql.unsafe("vacuum analyze");
  } catch (err) {
    await drop();
    throw err;
  }
  const { clients, threads } = pgbenchClients(ctx, ctx.options.concurrency);
  const run = {
    pgbench,
    dbUrl,
    script: SEED_BOOK_RANDOM_SEAT,
    vars: { nusers: users, nseats: seats },
    clients,
    threads,
  };
  const booked = async () => (await sql<{ n: number }[]>`select count(*)::int as n from bookings`)[0]?.n ?? 0;
  return {
    slice: (durationS: number) => bookingRun(run, booked, durationS),
    drop,
  };
}

/** Our book_seats on the second event of the bench's database: the database half of our booking. */
async function bookSeatsReference(ctx: BenchContext, pgbench: string, users: { id: number }[]) {
  const local = ctx.local as NonNullable<BenchContext["local"]>;
  const eventId = ctx.events.bookingPgbench as number;
  const { clients, threads } = pgbenchClients(ctx, ctx.options.concurrency);
  const run = {
    pgbench,
    dbUrl: local.dbUrl,
    script: BOOK_SEATS_RANDOM_SEAT,
    vars: { umin: users[0]?.id ?? 1, umax: users.at(-1)?.id ?? 1, eid: eventId, nseats: ctx.options.bookingSeats },
    clients,
    threads,
  };
  return measured(
    ctx,
    run,
    async () =>
      (await local.sql<{ n: number }[]>`select count(*)::int as n from bookings where event_id = ${eventId}`)[0]?.n ??
      0,
  );
}
