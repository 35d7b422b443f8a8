import { percentiles } from "../load-spec";
import { fmt, type Row, skippedRow } from "../report";
import { bookSeat, cancelBooking, createEvent, joinWaitlist } from "../seed";
import type { BenchContext } from "../setup";
import { hasPromoter } from "../stack";

export const OFFER_BUDGET_MS = 250;
const OFFER_TIMEOUT_MS = 5_000;
const SCENARIO = "waitlist: release → offer, parties of 1–4";
/** Seats each owner books (below MAX_SEATS_PER_USER_PER_EVENT). */
const SEATS_PER_OWNER = 4;
const partyOf = (i: number) => 1 + (i % 4);

/**
 * Scenario 5. A sold-out event with a line of parties of 1, 2, 3, 4, 1, … seats; bookings are
 * cancelled one at a time, as many as the head's party needs, and after the release that makes
 * the party fit PostgreSQL is polled (every millisecond) until the party's offer is OFFERED: the
 * time from that cancel's response to that moment is what a party in line waits for its offer
 * (in the cancel's own transaction when the head is known, else outbox, relay, stream,
 * promoter). Needs workers/waitlist-promoter.ts; without it the row says so.
 */
export async function benchWaitlist(ctx: BenchContext): Promise<{ row: Row; raw: unknown }> {
  const n = ctx.options.waitlistReleases;
  const scenario = `${SCENARIO} (${n} offers, workers running)`;
  const local = ctx.local;
  if (!local) return { row: skippedRow("waitlist", scenario, "skipped: needs the local database (--url)"), raw: null };
  if (!hasPromoter(local.stack)) {
    return { row: skippedRow("waitlist", scenario, "n/a (no promoter worker)"), raw: { promoter: false } };
  }
  const waiters = local.users.slice(0, n);
  const seatsNeeded = waiters.reduce((sum, _, i) => sum + partyOf(i), 0);
  const owners = local.users.slice(n, n + Math.ceil(seatsNeeded / SEATS_PER_OWNER));
  if (owners.length * SEATS_PER_OWNER < seatsNeeded) throw new Error("bench: not enough users for the waitlist owners");
  const eventId = await createEvent(ctx.baseUrl, ctx.adminToken, "waitlist", seatsNeeded);
  const bookings: { id: number; token: string }[] = [];
  for (let seat = 1; seat <= seatsNeeded; seat++) {
    const owner = owners[Math.floor((seat - 1) / SEATS_PER_OWNER)] as { token: string };
    bookings.push({ id: await bookSeat(ctx.baseUrl, owner.token, eventId, seat), token: owner.token });
  }
  // One at a time, so the line's order is known.
  for (const [i, waiter] of waiters.entries()) await joinWaitlist(ctx.baseUrl, waiter.token, eventId, partyOf(i));

  const latencies: number[] = [];
  let inLineOrder = 0;
  let timeouts = 0;
  let next = 0;
  for (const [i, waiter] of waiters.entries()) {
    let released = 0;
    for (let k = 0; k < partyOf(i); k++) {
      const b = bookings[next++] as { id: number; token: string };
      await cancelBooking(ctx.baseUrl, b.token, b.id);
      released = performance.now();
    }
    const offer = await waitForOffer(ctx, eventId, waiter.id, released + OFFER_TIMEOUT_MS);
    if (offer === undefined) {
      timeouts++;
      if (timeouts >= 2) break; // the promoter is not keeping up at all; do not wait out every party
      continue;
    }
    latencies.push(performance.now() - released);
    if (offer === partyOf(i)) inLineOrder++;
  }
  const p = percentiles(latencies);
  const p99 = timeouts > 0 ? Number.POSITIVE_INFINITY : p.p99;
  const missed = timeouts > 0 ? `, ${timeouts} not offered within ${OFFER_TIMEOUT_MS / 1000} s` : "";
  return {
    row: {
      key: "waitlist",
      scenario,
      evently: `p50 ${fmt.ms(p.p50)}, p99 ${fmt.ms(p.p99)} (${latencies.length} offers, ${inLineOrder} in line order with their party's seats${missed})`,
      reference: `goal: p99 < ${OFFER_BUDGET_MS} ms`,
      ratio: fmt.ratio(p99 / OFFER_BUDGET_MS),
      ratioValue: p99 / OFFER_BUDGET_MS,
    },
    raw: { promoter: true, latenciesMs: latencies, percentiles: p, timeouts, inLineOrder, offers: waiters.length },
  };
}

/** Polls until the user's offer is OFFERED; returns its seat count, or undefined at the deadline. */
async function waitForOffer(
  ctx: BenchContext,
  eventId: number,
  userId: number,
  deadline: number,
): Promise<number | undefined> {
  const sql = ctx.local?.sql;
  if (!sql) return undefined;
  while (performance.now() < deadline) {
    const [row] = await sql<{ seats: number }[]>`
      select cardinality(seat_numbers) as seats from waitlist_offers
      where event_id = ${eventId} and user_id = ${userId} and status = 'OFFERED'`;
    if (row) return row.seats;
    await Bun.sleep(1);
  }
  return undefined;
}
