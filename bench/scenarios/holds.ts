import type { Sql } from "postgres";
import { percentiles } from "../load-spec";
import { type Check, fmt, type Row, skippedRow } from "../report";
import { benchClient, createEvent } from "../seed";
import type { BenchContext } from "../setup";
import { latencySummary } from "./common";

const SCENARIO = "hold → confirm: best available, many users";
const CANCEL_SCENARIO = "book → cancel: best available, many users";

type Side = { done: number; refused: Record<string, number>; seconds: number; latenciesMs: number[] };

/**
 * Scenario 1b, beside the booking row. Each connection loops: `POST /events/{id}/holds
 * {"quantity":1}`, then `POST /holds/{token}/confirm` with the token it got (two dependent
 * requests, so the load generator that drops bodies cannot drive it: both sides here use
 * keep-alive `fetch`). Reference: the one-step booking `POST /events/{id}/bookings {"quantity":1}`
 * from the same loop, same connections and users, on another fresh event. Ratio: checkouts/s over
 * bookings/s — what the second step and the hold row cost. Second row, same reference: each loop
 * books one seat and cancels that booking (`DELETE /bookings/cancel/{id}`, nobody waiting) on a
 * third event; pairs/s over bookings/s is 0.5 when a cancel costs what a booking does.
 */
export async function benchHolds(ctx: BenchContext): Promise<{ rows: Row[]; checks: Check[]; raw: unknown }> {
  const local = ctx.local;
  if (!local) {
    return {
      rows: [
        skippedRow("hold_confirm", SCENARIO, "skipped: needs the local database (--url)"),
        skippedRow("book_cancel", CANCEL_SCENARIO, "skipped: needs the local database (--url)"),
      ],
      checks: [],
      raw: null,
    };
  }
  const seats = ctx.options.bookingSeats;
  const users = local.users.slice(0, Math.max(1, ctx.options.users));
  const holdEvent = await createEvent(ctx.baseUrl, ctx.adminToken, "hold → confirm", seats);
  const bookEvent = await createEvent(ctx.baseUrl, ctx.adminToken, "hold → confirm (one-step reference)", seats);
  const cancelEvent = await createEvent(ctx.baseUrl, ctx.adminToken, "book → cancel", seats);
  const api = `${ctx.baseUrl}/api/v1`;

  const send = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...benchClient() },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const post = (path: string, token: string, body?: unknown) => send("POST", path, token, body);
  const checkout = async (token: string) => {
    const held = await post(`/events/${holdEvent}/holds`, token, { quantity: 1 });
    if (held.status !== 201) return String(held.body.code ?? held.status);
    const confirmed = await post(`/holds/${held.body.token}/confirm`, token);
    return confirmed.status === 201 ? undefined : String(confirmed.body.code ?? confirmed.status);
  };
  const book = async (token: string) => {
    const booked = await post(`/events/${bookEvent}/bookings`, token, { quantity: 1 });
    return booked.status === 201 ? undefined : String(booked.body.code ?? booked.status);
  };

  const bookThenCancel = async (token: string) => {
    const booked = await post(`/events/${cancelEvent}/bookings`, token, { quantity: 1 });
    const [booking] = (booked.body.bookings ?? []) as { booking_id: number }[];
    if (booked.status !== 201 || !booking) return String(booked.body.code ?? booked.status);
    const cancelled = await send("DELETE", `/bookings/cancel/${booking.booking_id}`, token);
    return cancelled.status === 200 ? undefined : String(cancelled.body.code ?? cancelled.status);
  };

  // Each connection its own user (a user may have only MAX_HOLDS_PER_USER_PER_EVENT live holds).
  const run = async (step: (token: string) => Promise<string | undefined>, seconds: number): Promise<Side> => {
    const side: Side = { done: 0, refused: {}, seconds, latenciesMs: [] };
    const started = performance.now();
    const until = started + seconds * 1000;
    let soldOut = false;
    await Promise.all(
      Array.from({ length: ctx.options.concurrency }, async (_, i) => {
        const token = (users[i % users.length] as { token: string }).token;
        while (!soldOut && performance.now() < until) {
          const t0 = performance.now();
          const refusal = await step(token);
          if (refusal === undefined) {
            side.done++;
            side.latenciesMs.push(performance.now() - t0);
          } else {
            side.refused[refusal] = (side.refused[refusal] ?? 0) + 1;
            if (refusal === "NOT_ENOUGH_SEATS") soldOut = true;
          }
        }
      }),
    );
    side.seconds = (performance.now() - started) / 1000;
    return side;
  };

  // The warm-up books seats too: it runs on each side's own event, before the measured part.
  if (ctx.options.warmupS > 0) {
    await run(checkout, ctx.options.warmupS);
    await run(book, ctx.options.warmupS);
    await run(bookThenCancel, ctx.options.warmupS);
  }
  const holds = await run(checkout, ctx.options.durationS);
  const bookings = await run(book, ctx.options.durationS);
  const cancels = await run(bookThenCancel, ctx.options.durationS);
  const rate = (s: Side) => (s.seconds > 0 ? s.done / s.seconds : 0);
  const refusals = (s: Side) => {
    const n = Object.values(s.refused).reduce((a, b) => a + b, 0);
    return n > 0 ? `, ${fmt.count(n)} refused` : "";
  };
  const ratio = rate(holds) / (rate(bookings) || Number.NaN);
  const cancelRatio = rate(cancels) / (rate(bookings) || Number.NaN);
  const reference = `one-step booking, same client: ${fmt.rps(rate(bookings))} (${latencySummary(percentiles(bookings.latenciesMs))}${refusals(bookings)})`;
  // Every confirmed checkout is one BOOKED seat with one booking, nothing left HELD by a confirm.
  const [state] = await local.sql<{ booked: number; bookings: number; confirmed: number; twice: number }[]>`
    select (select count(*)::int from seats where event_id = ${holdEvent} and status = 'BOOKED') as booked,
           (select count(*)::int from bookings where event_id = ${holdEvent} and status = 'BOOKED') as bookings,
           (select count(*)::int from holds where event_id = ${holdEvent} and status = 'CONFIRMED') as confirmed,
           (select count(*)::int from (select seat_id from bookings where event_id = ${holdEvent} and status = 'BOOKED'
                                       group by seat_id having count(*) > 1) d) as twice`;
  const consistent =
    state !== undefined && state.twice === 0 && state.booked === state.bookings && state.confirmed === state.bookings;
  const checks: Check[] = [
    {
      check: "hold → confirm: each confirmed hold is one booked seat, none twice",
      ok: consistent,
      detail: JSON.stringify(state),
    },
    await cancelledCheck(local.sql, cancelEvent),
  ];
  return {
    checks,
    rows: [
      {
        key: "hold_confirm",
        scenario: SCENARIO,
        evently: `${fmt.count(Math.round(rate(holds)))} checkouts/s (2 requests each${refusals(holds)}, ${latencySummary(percentiles(holds.latenciesMs))})`,
        reference,
        ratio: fmt.ratio(ratio),
        ratioValue: ratio,
      },
      {
        key: "book_cancel",
        scenario: CANCEL_SCENARIO,
        evently: `${fmt.count(Math.round(rate(cancels)))} book + cancel pairs/s (${latencySummary(percentiles(cancels.latenciesMs))}${refusals(cancels)})`,
        reference,
        ratio: fmt.ratio(cancelRatio),
        ratioValue: cancelRatio,
      },
    ],
    raw: {
      holdConfirm: { ...holds, latenciesMs: percentiles(holds.latenciesMs) },
      oneStep: { ...bookings, latenciesMs: percentiles(bookings.latenciesMs) },
      bookCancel: { ...cancels, latenciesMs: percentiles(cancels.latenciesMs) },
    },
  };
}

/** After book → cancel: every seat AVAILABLE again, no BOOKED booking left. */
async function cancelledCheck(sql: Sql, eventId: number): Promise<Check> {
  const [state] = await sql<{ notFree: number; booked: number; cancelled: number }[]>`
    select (select count(*)::int from seats where event_id = ${eventId} and status <> 'AVAILABLE') as not_free,
           (select count(*)::int from bookings where event_id = ${eventId} and status = 'BOOKED') as booked,
           (select count(*)::int from bookings where event_id = ${eventId} and status = 'CANCELLED') as cancelled`;
  return {
    check: "book → cancel: every seat free again, nothing left BOOKED",
    ok: state !== undefined && state.notFree === 0 && state.booked === 0 && state.cancelled > 0,
    detail: JSON.stringify(state),
  };
}
