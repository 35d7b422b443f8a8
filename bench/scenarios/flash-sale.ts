import { errorMessage } from "../../src/platform/error-message";
import type { Sql } from "../database";
import { runLoad, target } from "../load";
import type { LoadResult } from "../load-spec";
import { BOOK_BEST_AVAILABLE, findPgbench, runPgbench } from "../pgbench";
import { waitForQuiet } from "../quiet";
import { type Check, fmt, type Row, skippedRow } from "../report";
import type { BenchContext } from "../setup";
import { CLIENT_ADDRESSES, latencySummary, pgbenchClients } from "./common";

export interface SaleOutcome {
  capacity: number;
  /** Seats in state BOOKED. */
  sold: number;
  bookedBookings: number;
  /** Seats with more than one BOOKED booking. */
  oversold: number;
}

/** What PostgreSQL says happened to an event's seats: the truth a flash sale is judged by. */
export async function saleOutcome(sql: Sql, eventId: number): Promise<SaleOutcome> {
  const [row] = await sql<SaleOutcome[]>`
    select e.capacity,
      (select count(*) from seats where event_id = e.id and status = 'BOOKED')::int as sold,
      (select count(*) from bookings where event_id = e.id and status = 'BOOKED')::int as booked_bookings,
      (select count(*) from (select seat_id from bookings where event_id = e.id and status = 'BOOKED'
                             group by seat_id having count(*) > 1) d)::int as oversold
    from events e where e.id = ${eventId}`;
  if (!row) throw new Error(`event ${eventId} not found`);
  return row;
}

/**
 * Scenario 3. Every buyer sends one POST /events/{id}/bookings {quantity: 1}, all at once over
 * many connections, for an event with half as many seats as buyers. Reference: pgbench running the
 * same best-available transaction (SKIP LOCKED) as often, on a second event of the same size. Then
 * PostgreSQL is asked how many seats were sold, and whether any seat was sold twice.
 */
export async function benchFlashSale(ctx: BenchContext): Promise<{ rows: Row[]; checks: Check[]; raw: unknown }> {
  const { flashUsers, flashSeats, flashConcurrency } = ctx.options;
  const scenario = `flash sale: ${fmt.count(flashUsers)} users race for ${fmt.count(flashSeats)} seats`;
  const integrity = `flash sale: sold / oversold (PostgreSQL)`;
  const local = ctx.local;
  if (!local || !ctx.events.flashApi || !ctx.events.flashPgbench) {
    const why = "skipped: needs the local database (--url)";
    return {
      rows: [skippedRow("flash_sale", scenario, why), skippedRow("flash_sale_integrity", integrity, why)],
      checks: [],
      raw: null,
    };
  }
  const buyers = local.users.slice(0, flashUsers);
  const api = await sale(ctx, ctx.events.flashApi, buyers, flashConcurrency);
  const outcome = await saleOutcome(local.sql, ctx.events.flashApi);
  const created = api.statuses[201] ?? 0;
  const p = api.latencyMs;
  const evently =
    `${fmt.rps(api.rps)} over ${flashConcurrency} connections; p50 ${fmt.ms(p.p50)}, ` +
    `p95 ${fmt.ms(p.p95)}, p99 ${fmt.ms(p.p99)}`;

  let reference = "n/a (pgbench not found)";
  let ratio = Number.NaN;
  let pgbenchRaw: unknown = null;
  const pgbench = findPgbench();
  if (pgbench) {
    try {
      ({ reference, ratio, pgbenchRaw } = await pgbenchReference(ctx, pgbench, buyers, api.rps));
    } catch (err) {
      reference = `FAILED: ${errorMessage(err)}`;
      pgbenchRaw = { error: errorMessage(err) };
    }
  }
  const rows: Row[] = [
    { key: "flash_sale", scenario, evently, reference, ratio: fmt.ratio(ratio), ratioValue: ratio },
    {
      key: "flash_sale_integrity",
      scenario: integrity,
      evently: `sold ${fmt.count(outcome.sold)}, oversold ${outcome.oversold} (201 answers: ${fmt.count(created)})`,
      reference: `capacity ${fmt.count(outcome.capacity)}, oversold must be 0`,
      ratio: fmt.ratio(outcome.sold / outcome.capacity),
      ratioValue: outcome.sold / outcome.capacity,
    },
  ];
  const expectedSold = Math.min(outcome.capacity, flashUsers);
  const checks: Check[] = [
    {
      check: "flash sale sells every seat exactly once",
      ok: outcome.sold === expectedSold && outcome.bookedBookings === expectedSold && created === expectedSold,
      detail: `sold ${outcome.sold}, BOOKED bookings ${outcome.bookedBookings}, 201 answers ${created}, expected ${expectedSold}`,
    },
    { check: "flash sale oversell", ok: outcome.oversold === 0, detail: `${outcome.oversold} seats sold twice` },
  ];
  return { rows, checks, raw: { api, outcome, pgbench: pgbenchRaw } };
}

/** Every buyer sends one best-available booking for one seat, each once, `concurrency` at a time. */
function sale(ctx: BenchContext, eventId: number, buyers: { token: string }[], concurrency: number) {
  const { host, port, prefix } = target(ctx.baseUrl);
  return runLoad({
    host,
    port,
    concurrency,
    warmupMs: 0,
    durationMs: 0,
    method: "POST",
    path: `${prefix}/api/v1/events/${eventId}/bookings`,
    body: JSON.stringify({ quantity: 1 }),
    tokens: buyers.map((u) => u.token),
    tokenUse: "each-once",
    clientAddresses: CLIENT_ADDRESSES,
  });
}

export const WARM_BUYERS = 300;
export const WARM_SEATS = 150;
/** Warm sales per run (odd: one of them is the median), each on an event of its own. */
export const WARM_SALES = 3;
export const WARM_P99_BUDGET_MS = 150;
export const FLASH_P99_BUDGET_MS = 250;

/**
 * The issue's flash sale: 300 buyers at once (300 connections) for 150 seats, on processes that
 * have already served the booking load (warm). One sale is one burst of 300 requests, over in
 * about 0.1–0.2 s, so its p99 (the third-slowest answer) moves with whatever the machine did in
 * that moment: 95–192 ms in three runs of one hour. So the scenario holds WARM_SALES sales (each
 * after a quiet machine, each on a fresh event), reports every sale's p99, and is judged by their
 * median against 150 ms, like the ratio rows' median of rounds. Each sale's integrity is checked
 * in PostgreSQL.
 */
export async function benchWarmFlashSale(ctx: BenchContext): Promise<{ rows: Row[]; checks: Check[]; raw: unknown }> {
  const scenario = `flash sale, warm: ${WARM_BUYERS} users at once for ${WARM_SEATS} seats`;
  const local = ctx.local;
  const events = ctx.events.flashWarmApi ?? [];
  if (!local || events.length === 0) {
    return {
      rows: [skippedRow("flash_sale_warm", scenario, "skipped: needs the local database (--url)")],
      checks: [],
      raw: null,
    };
  }
  const buyers = local.users.slice(-WARM_BUYERS);
  const sales: { api: LoadResult; outcome: SaleOutcome }[] = [];
  for (const [i, eventId] of events.entries()) {
    if (i > 0) await waitForQuiet(ctx.options.settleS * 1000);
    const api = await sale(ctx, eventId, buyers, buyers.length);
    sales.push({ api, outcome: await saleOutcome(local.sql, eventId) });
  }
  const p99s = sales.map((s) => s.api.latencyMs.p99);
  // The median sale (WARM_SALES is odd): its p99 is the row's figure, its p50/p95 go beside it.
  const mid = [...sales].sort((a, b) => a.api.latencyMs.p99 - b.api.latencyMs.p99)[
    Math.floor(sales.length / 2)
  ] as (typeof sales)[number];
  const p99 = mid.api.latencyMs.p99;
  const sold = sales.reduce((n, s) => n + s.outcome.sold, 0);
  const oversold = sales.reduce((n, s) => n + s.outcome.oversold, 0);
  const bad = sales.filter((s) => {
    const expected = Math.min(s.outcome.capacity, buyers.length);
    return s.outcome.sold !== expected || s.outcome.oversold !== 0 || (s.api.statuses[201] ?? 0) !== expected;
  });
  return {
    rows: [
      {
        key: "flash_sale_warm",
        scenario,
        evently: `p99 ${fmt.ms(p99)} (median of ${sales.length} sales: ${p99s.map((v) => fmt.ms(v)).join(", ")}); that sale's p50 ${fmt.ms(mid.api.latencyMs.p50)}, p95 ${fmt.ms(mid.api.latencyMs.p95)}; sold ${fmt.count(sold)}, oversold ${oversold}`,
        reference: `goal: p99 < ${WARM_P99_BUDGET_MS} ms`,
        ratio: fmt.ratio(p99 / WARM_P99_BUDGET_MS),
        ratioValue: p99 / WARM_P99_BUDGET_MS,
      },
    ],
    checks: [
      {
        check: "warm flash sale sells every seat exactly once",
        ok: bad.length === 0,
        detail: sales
          .map((s) => `sold ${s.outcome.sold}, oversold ${s.outcome.oversold}, 201 answers ${s.api.statuses[201] ?? 0}`)
          .join("; "),
      },
    ],
    raw: { sales, p99s, p99 },
  };
}

/** pgbench: the same best-available transaction as often as there are buyers, on a second event. */
async function pgbenchReference(ctx: BenchContext, pgbench: string, buyers: { id: number }[], apiRps: number) {
  const local = ctx.local as NonNullable<BenchContext["local"]>;
  const eventId = ctx.events.flashPgbench as number;
  const { clients, threads } = pgbenchClients(ctx, ctx.options.flashConcurrency);
  const ref = await runPgbench({
    pgbench,
    dbUrl: local.dbUrl,
    script: BOOK_BEST_AVAILABLE,
    vars: { umin: buyers[0]?.id ?? 1, umax: buyers.at(-1)?.id ?? 1, eid: eventId },
    clients,
    threads,
    transactionsPerClient: Math.ceil(ctx.options.flashUsers / clients),
  });
  const outcome = await saleOutcome(local.sql, eventId);
  return {
    reference:
      `pgbench, same transaction ×${fmt.count(ref.transactions)}, ${clients} clients: ` +
      `${fmt.tps(ref.tps)} (${latencySummary(ref.latencyMs)})`,
    ratio: apiRps / ref.tps,
    pgbenchRaw: { ...ref, outcome, threads },
  };
}
