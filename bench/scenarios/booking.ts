import { errorMessage } from "../../src/platform/error-message";
import { BOOK_RANDOM_SEAT, findPgbench, runPgbench } from "../pgbench";
import { fmt, type Row, skippedRow } from "../report";
import type { BenchContext } from "../setup";
import { latencySummary, pgbenchClients, share, timedLoad } from "./common";

const SCENARIO = "booking: random free seat, many users";

/**
 * Scenario 1. Many users book random seats of one large event through
 * POST /events/{id}/book/{n}; then pgbench runs the same transaction on a second, equally fresh
 * event with the same number of transactions in flight. Ratio: API requests/s over pgbench tx/s.
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
    const ref = await pgbenchCeiling(ctx, pgbench, users);
    const ratio = api.rps / ref.tps;
    row.reference =
      `pgbench, same transaction, ${ref.clients} clients: ${fmt.tps(ref.tps)} ` +
      `(booked ${fmt.pct(ref.bookedShare)}, ${latencySummary(ref.latencyMs)})`;
    Object.assign(row, { ratio: fmt.ratio(ratio), ratioValue: ratio });
    return { row, raw: { api, pgbench: ref } };
  } catch (err) {
    row.reference = `FAILED: ${errorMessage(err)}`;
    return { row, raw: { api, pgbench: { error: errorMessage(err) } } };
  }
}

/** pgbench on the second event: a discarded warm-up, then the measured run. */
async function pgbenchCeiling(ctx: BenchContext, pgbench: string, users: { id: number }[]) {
  const local = ctx.local as NonNullable<BenchContext["local"]>;
  const eventId = ctx.events.bookingPgbench as number;
  const { clients, threads } = pgbenchClients(ctx, ctx.options.concurrency);
  const run = {
    pgbench,
    dbUrl: local.dbUrl,
    script: BOOK_RANDOM_SEAT,
    vars: { umin: users[0]?.id ?? 1, umax: users.at(-1)?.id ?? 1, eid: eventId, nseats: ctx.options.bookingSeats },
    clients,
    threads,
  };
  if (ctx.options.warmupS > 0) await runPgbench({ ...run, durationS: ctx.options.warmupS });
  const booked = async () =>
    (await local.sql<{ n: number }[]>`select count(*)::int as n from bookings where event_id = ${eventId}`)[0]?.n ?? 0;
  const before = await booked();
  const ref = await runPgbench({ ...run, durationS: ctx.options.durationS });
  const bookedShare = ref.transactions ? ((await booked()) - before) / ref.transactions : 0;
  return { ...ref, bookedShare, threads };
}
