import type { seats } from "../../src/db/schema";
import { percentiles } from "../load-spec";
import { fmt, type Row, skippedRow } from "../report";
import { bookSeat, cancelBooking, createEvent, joinWaitlist } from "../seed";
import type { BenchContext } from "../setup";
import { hasPromoter } from "../stack";

export const OFFER_BUDGET_MS = 250;
const OFFER_TIMEOUT_MS = 5_000;
const SCENARIO = "waitlist: release → offer";

/**
 * Scenario 5. A sold-out event with a line of users; bookings are cancelled one at a time, and
 * each time PostgreSQL is polled (every millisecond) until the freed seat is HELD: the time from
 * the cancel response to that moment is what a user in line waits for the offer (outbox, relay,
 * stream, promoter). Needs workers/waitlist-promoter.ts; without it the row says so.
 */
export async function benchWaitlist(ctx: BenchContext): Promise<{ row: Row; raw: unknown }> {
  const n = ctx.options.waitlistReleases;
  const scenario = `${SCENARIO} (${n} releases, workers running)`;
  const local = ctx.local;
  if (!local) return { row: skippedRow("waitlist", scenario, "skipped: needs the local database (--url)"), raw: null };
  if (!hasPromoter(local.stack)) {
    return { row: skippedRow("waitlist", scenario, "n/a (no promoter worker)"), raw: { promoter: false } };
  }
  const owners = local.users.slice(0, n);
  const waiters = local.users.slice(n, 2 * n);
  const eventId = await createEvent(ctx.baseUrl, ctx.adminToken, "waitlist", n);
  const bookings: number[] = [];
  for (const [i, owner] of owners.entries()) bookings.push(await bookSeat(ctx.baseUrl, owner.token, eventId, i + 1));
  // One at a time, so the line's order is known.
  for (const waiter of waiters) await joinWaitlist(ctx.baseUrl, waiter.token, eventId);

  const latencies: number[] = [];
  let inLineOrder = 0;
  let timeouts = 0;
  for (const [i, bookingId] of bookings.entries()) {
    const [seat] = await local.sql<{ id: number }[]>`select seat_id::int as id from bookings where id = ${bookingId}`;
    if (!seat) throw new Error(`booking ${bookingId} has no seat`);
    await cancelBooking(ctx.baseUrl, (owners[i] as { token: string }).token, bookingId);
    const released = performance.now();
    const heldBy = await waitForHold(ctx, seat.id, released + OFFER_TIMEOUT_MS);
    if (heldBy === undefined) {
      timeouts++;
      if (timeouts >= 2) break; // the promoter is not keeping up at all; do not wait out every seat
      continue;
    }
    latencies.push(performance.now() - released);
    if (heldBy === waiters[i]?.id) inLineOrder++;
  }
  const p = percentiles(latencies);
  const p99 = timeouts > 0 ? Number.POSITIVE_INFINITY : p.p99;
  const missed = timeouts > 0 ? `, ${timeouts} not offered within ${OFFER_TIMEOUT_MS / 1000} s` : "";
  return {
    row: {
      key: "waitlist",
      scenario,
      evently: `p50 ${fmt.ms(p.p50)}, p99 ${fmt.ms(p.p99)} (${latencies.length} offers, ${inLineOrder} in line order${missed})`,
      reference: `goal: p99 < ${OFFER_BUDGET_MS} ms`,
      ratio: fmt.ratio(p99 / OFFER_BUDGET_MS),
      ratioValue: p99 / OFFER_BUDGET_MS,
    },
    raw: { promoter: true, latenciesMs: latencies, percentiles: p, timeouts, inLineOrder, releases: bookings.length },
  };
}

/** Polls the seat until it is HELD; returns the holder, or undefined at the deadline. */
async function waitForHold(ctx: BenchContext, seatId: number, deadline: number): Promise<number | undefined> {
  const sql = ctx.local?.sql;
  if (!sql) return undefined;
  while (performance.now() < deadline) {
    const [row] = await sql<Pick<typeof seats.$inferSelect, "status" | "heldBy">[]>`
      select status, held_by::int from seats where id = ${seatId}`;
    if (row?.status === "HELD") return row.heldBy ?? undefined;
    await Bun.sleep(1);
  }
  return undefined;
}
