import postgres from "postgres";
import { config } from "../../src/config";
import { errorMessage } from "../../src/platform/error-message";
import { dropDatabase, recreateDatabase } from "../database";
import {
  BOOK_SEATS_RANDOM_SEAT,
  findPgbench,
  type PgbenchResult,
  runPgbench,
  SEED_BOOK_RANDOM_SEAT,
  SEED_SCHEMA,
  seedData,
} from "../pgbench";
import { fmt, type Row, skippedRow } from "../report";
import type { BenchContext } from "../setup";
import { latencySummary, pgbenchClients, share, timedLoad } from "./common";

const SCENARIO = "booking: random free seat, many users";

/**
 * Scenario 1. Many users book random seats of one large event through
 * POST /events/{id}/book/{n}. References, with the same number of transactions in flight and in
 * pgbench's prepared mode (postgres.js sends named prepared statements too): the seed's minimal
 * booking transaction on the seed's schema in a database of its own (the ratio's denominator),
 * and our own book_seats call on a second, equally fresh event (what the database part of our
 * booking costs). Ratio: API requests/s over the seed transaction's tx/s.
 */
export async function benchBooking(ctx: BenchContext): Promise<{ row: Row; raw: unknown }> {
  const local = ctx.local;
  if (!local || !ctx.events.bookingApi || !ctx.events.bookingPgbench) {
    return { row: skippedRow("booking", SCENARIO, "skipped: needs the local database (--url)"), raw: null };
  }
  const seats = ctx.options.bookingSeats;
  const users = local.users.slice(0, ctx.options.users);
  const api = await timedLoad(ctx, ctx.baseUrl, {
    method: "POST",
    path: `/api/v1/events/${ctx.events.bookingApi}/book/{n}`,
    randomMax: seats,
    tokens: users.map((u) => u.token),
  });
  const evently = `${fmt.rps(api.rps)} (201: ${fmt.pct(share(api, 201))}, ${latencySummary(api.latencyMs)})`;

  const row: Row = { key: "booking", scenario: SCENARIO, evently, reference: "n/a (pgbench not found)", ratio: "n/a" };
  const pgbench = findPgbench();
  if (!pgbench) return { row, raw: { api } };
  try {
    const seed = await seedReference(ctx, pgbench, seats, users.length);
    const ours = await bookSeatsReference(ctx, pgbench, users);
    const ratio = api.rps / seed.tps;
    row.reference =
      `pgbench -M prepared, ${seed.clients} clients: seed transaction on the seed schema ${fmt.tps(seed.tps)} ` +
      `(booked ${fmt.pct(seed.bookedShare)}, ${latencySummary(seed.latencyMs)}); ` +
      `our book_seats ${fmt.tps(ours.tps)} (${fmt.ratio(ours.tps / seed.tps)} of the seed's)`;
    Object.assign(row, { ratio: fmt.ratio(ratio), ratioValue: ratio });
    return { row, raw: { api, seedPgbench: seed, bookSeatsPgbench: ours } };
  } catch (err) {
    row.reference = `FAILED: ${errorMessage(err)}`;
    return { row, raw: { api, pgbench: { error: errorMessage(err) } } };
  }
}

/** A warm-up run (discarded), then the measured one; the share of runs that booked a seat. */
async function measured(
  ctx: BenchContext,
  run: Parameters<typeof runPgbench>[0],
  booked: () => Promise<number>,
): Promise<PgbenchResult & { bookedShare: number; threads: number }> {
  if (ctx.options.warmupS > 0) await runPgbench({ ...run, durationS: ctx.options.warmupS });
  const before = await booked();
  const ref = await runPgbench({ ...run, durationS: ctx.options.durationS });
  const bookedShare = ref.transactions ? ((await booked()) - before) / ref.transactions : 0;
  return { ...ref, bookedShare, threads: run.threads };
}

/** The seed's transaction on the seed's schema, in `<db-name>_seed`, created here and dropped after. */
async function seedReference(ctx: BenchContext, pgbench: string, seats: number, users: number) {
  const name = `${ctx.options.dbName}_seed`;
  const dbUrl = await recreateDatabase(config.DATABASE_URL, name);
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(SEED_SCHEMA);
    await sql.unsafe(seedData(users, seats));
    await sql.unsafe("vacuum analyze");
    const { clients, threads } = pgbenchClients(ctx, ctx.options.concurrency);
    const run = {
      pgbench,
      dbUrl,
      script: SEED_BOOK_RANDOM_SEAT,
      vars: { nusers: users, nseats: seats },
      clients,
      threads,
    };
    return await measured(
      ctx,
      run,
      async () => (await sql<{ n: number }[]>`select count(*)::int as n from bookings`)[0]?.n ?? 0,
    );
  } finally {
    await sql.end({ timeout: 5 });
    if (!ctx.options.keepDb) await dropDatabase(config.DATABASE_URL, name);
  }
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
