import { describe, expect, it } from "bun:test";
import { expireOffers, promoteNextInLine } from "../../src/modules/waitlist/waitlist.offers";
import { headEntries } from "../../src/modules/waitlist/waitlist.store";
import { sql } from "../../src/platform/db";
import { createEvent, seatInvariants } from "../support/fixtures";
import { adminToken, api, manyUsers } from "../support/http";

/**
 * Model-based test of the party-size waitlist (docs/waitlist.md). A seeded random sequence of
 * joins with party sizes 1-4, cancellations, accepts (new and old path), declines, expiries and
 * leaves runs against the real service (the app in process, PostgreSQL, Redis); after each step
 * the promoter's handler runs, as the worker would on the step's `seat.released`. A simple model
 * of the line says who must hold an offer, who still waits and how many seats gather for the
 * head; after every step the database must agree with it, and:
 * - no seat is stuck: every seat is BOOKED, HELD for a live offer (OFFERED, or gathering for a
 *   party still in line), or AVAILABLE only while nobody waits;
 * - nobody is skipped under strict: offers go to the head of the line only (the model's line);
 * - nobody holds two live offers, and nobody in line holds an OFFERED one.
 */

type Policy = "strict" | "first_fit";
interface Waiter {
  user: number;
  party: number;
}
interface Model {
  capacity: number;
  policy: Policy;
  line: Waiter[];
  gathered: number; // seats HELD for the line's gathering party
  gatherer: number | undefined;
  offers: Map<number, { offerId: number; party: number }>; // user -> OFFERED offer
  bookings: { id: number; user: number }[]; // BOOKED
  free: number; // AVAILABLE
}

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the line must look like once the freed seats have been served (the rule, simply). */
function settle(m: Model, offered: (w: Waiter) => void) {
  const served: Waiter[] = [];
  let gatherFor: Waiter | undefined;
  for (const w of m.line) {
    const have = m.gatherer === w.user ? m.gathered : 0;
    if (have + m.free >= w.party) {
      m.free -= w.party - have;
      if (m.gatherer === w.user) {
        m.gatherer = undefined;
        m.gathered = 0;
      }
      served.push(w);
      offered(w);
      if (m.policy === "strict" && m.free === 0) break;
      continue;
    }
    gatherFor ??= w;
    if (m.policy === "strict") break;
  }
  m.line = m.line.filter((w) => !served.includes(w));
  if (gatherFor && m.free > 0) {
    if (m.gatherer !== undefined && m.gatherer !== gatherFor.user) throw new Error("model: two gatherers");
    m.gatherer = gatherFor.user;
    m.gathered += m.free;
    m.free = 0;
  }
}

async function runScenario(seed: number, policy: Policy, steps: number) {
  const rand = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const admin = await adminToken();
  const capacity = 6;
  const event = await createEvent(admin.token, { capacity, waitlist_policy: policy });
  const buyers = await manyUsers(capacity, "mb");
  const waiters = await manyUsers(10, "mw");
  const users = [...buyers, ...waiters];
  const m: Model = {
    capacity,
    policy,
    line: [],
    gathered: 0,
    gatherer: undefined,
    offers: new Map(),
    bookings: [],
    free: 0,
  };
  for (const [i, b] of buyers.entries()) {
    const res = await api("POST", `/api/v1/events/${event.id}/book/${i + 1}`, { token: b.token });
    expect(res.status).toBe(201);
    m.bookings.push({ id: res.body.booking_id, user: i });
  }
  const log: string[] = [];
  const offeredInOrder: number[] = [];

  // The promoter's pass, as the worker runs it on the step's seat.released.
  const afterStep = () => promoteNextInLine(event.id);

  const readOffers = async () =>
    sql<{ id: number; userId: number; status: string; partySize: number; seats: number }[]>`
      select o.id, o.user_id, o.status, o.party_size,
             (select count(*) from seats s where s.offer_id = o.id)::int as seats
      from waitlist_offers o where o.event_id = ${event.id} and o.status in ('PENDING', 'OFFERED')`;

  const check = async (step: string) => {
    const inv = await seatInvariants(event.id);
    const ctx = `${policy} seed ${seed} after ${step}\n${log.slice(-8).join("\n")}`;
    expect({ ctx, v: inv.seatsBookedTwice + inv.bookedSeatsWithoutOneBooking }).toEqual({ ctx, v: 0 });
    expect({ ctx, sum: inv.available + inv.held + inv.booked }).toEqual({ ctx, sum: capacity });
    const line = (await headEntries(event.id, 100)).map((e) => ({
      user: users.findIndex((u) => u.id === e.userId),
      party: e.partySize,
    }));
    const live = await readOffers();
    const offered = live.filter((o) => o.status === "OFFERED");
    const pending = live.filter((o) => o.status === "PENDING");
    const byUser = (id: number) => users.findIndex((u) => u.id === Number(id));
    const real = {
      line,
      free: inv.available,
      booked: inv.booked,
      gathered: pending.reduce((n, o) => n + o.seats, 0),
      gatherer:
        pending.length === 1
          ? byUser((pending[0] as { userId: number }).userId)
          : pending.length === 0
            ? undefined
            : -2,
      offers: offered
        .map((o) => [byUser(o.userId), o.seats, o.partySize])
        .sort((a, b) => (a[0] as number) - (b[0] as number)),
    };
    const model = {
      line: m.line,
      free: m.free,
      booked: m.bookings.length,
      gathered: m.gathered,
      gatherer: m.gatherer,
      offers: [...m.offers.entries()]
        .map(([u, o]) => [u, o.party, o.party])
        .sort((a, b) => (a[0] as number) - (b[0] as number)),
    };
    expect({ ctx, ...real }).toEqual({ ctx, ...model });
    // Nothing stuck: a free seat only while nobody waits; every HELD seat belongs to a live offer.
    if (inv.available > 0) expect({ ctx, waiting: line.length }).toEqual({ ctx, waiting: 0 });
    const [orphans] = await sql<{ n: number }[]>`
      select count(*)::int as n from seats s left join waitlist_offers o on o.id = s.offer_id
      where s.event_id = ${event.id} and s.status = 'HELD' and (o.id is null or o.status not in ('PENDING', 'OFFERED'))`;
    expect({ ctx, orphans: orphans?.n }).toEqual({ ctx, orphans: 0 });
    // The offered are off the line; a gathering party is in it.
    for (const o of offered) expect(line.some((w) => w.user === byUser(o.userId))).toBe(false);
    for (const o of pending) expect(line.some((w) => w.user === byUser(o.userId))).toBe(true);
    // Refresh the model's offer ids from the database (the model only knows who holds one).
    for (const o of offered) {
      const u = byUser(o.userId);
      const mo = m.offers.get(u);
      if (mo) mo.offerId = o.id;
    }
  };

  // The model's offers appear when it settles: record them in line order.
  const settleModel = () =>
    settle(m, (w) => {
      m.offers.set(w.user, { offerId: 0, party: w.party });
      offeredInOrder.push(w.user);
    });

  for (let step = 0; step < steps; step++) {
    const r = rand();
    const idle = waiters
      .map((_, i) => buyers.length + i)
      .filter((u) => !m.line.some((w) => w.user === u) && !m.offers.has(u) && !m.bookings.some((b) => b.user === u));
    let label = "";
    const shoppers = users.map((_, i) => i).filter((u) => !m.line.some((w) => w.user === u) && !m.offers.has(u));
    if (m.free > 0 && rand() < 0.7 && shoppers.length > 0) {
      // Free seats with nobody waiting: someone books them directly (best available).
      const u = pick(shoppers);
      const quantity = Math.min(m.free, 1 + Math.floor(rand() * 3));
      label = `u${u} books ${quantity}`;
      const res = await api("POST", `/api/v1/events/${event.id}/bookings`, {
        token: users[u]?.token,
        body: { quantity },
      });
      expect(res.status).toBe(201);
      for (const b of res.body.bookings) m.bookings.push({ id: b.booking_id, user: u });
      m.free -= quantity;
    } else if (r < 0.3 && idle.length > 0) {
      const u = pick(idle);
      const party = 1 + Math.floor(rand() * 4);
      label = `join u${u} party ${party}`;
      const res = await api("POST", `/api/v1/waitlist/${event.id}`, {
        token: users[u]?.token,
        body: { party_size: party },
      });
      if (m.free >= party) {
        expect(res.status).toBe(409);
      } else {
        expect(res.status).toBe(201);
        m.line.push({ user: u, party });
        settleModel();
      }
    } else if (r < 0.6 && m.bookings.length > 0) {
      const b = pick(m.bookings);
      label = `cancel booking ${b.id} of u${b.user}`;
      const res = await api("DELETE", `/api/v1/bookings/cancel/${b.id}`, { token: users[b.user]?.token });
      expect(res.status).toBe(200);
      m.bookings = m.bookings.filter((x) => x !== b);
      m.free += 1;
      settleModel();
    } else if (r < 0.72 && m.offers.size > 0) {
      const [u, o] = pick([...m.offers.entries()]);
      label = `accept offer ${o.offerId} of u${u}`;
      if (o.party === 1 && rand() < 0.5) {
        // The seed's path: book the held seat.
        const [seat] = await sql<{ seatNumber: number }[]>`select seat_number from seats where offer_id = ${o.offerId}`;
        const res = await api("POST", `/api/v1/events/${event.id}/book/${seat?.seatNumber}`, {
          token: users[u]?.token,
        });
        expect(res.status).toBe(201);
        m.bookings.push({ id: res.body.booking_id, user: u });
      } else {
        const res = await api("POST", `/api/v1/waitlist/offers/${o.offerId}/accept`, { token: users[u]?.token });
        expect(res.status).toBe(201);
        for (const b of res.body.bookings) m.bookings.push({ id: b.booking_id, user: u });
      }
      m.offers.delete(u);
    } else if (r < 0.84 && m.offers.size > 0) {
      const [u, o] = pick([...m.offers.entries()]);
      label = `decline offer ${o.offerId} of u${u}`;
      const res = await api("POST", `/api/v1/waitlist/offers/${o.offerId}/decline`, { token: users[u]?.token });
      expect(res.status).toBe(200);
      m.offers.delete(u);
      m.free += o.party;
      settleModel();
    } else if (r < 0.92 && m.offers.size > 0) {
      const [u, o] = pick([...m.offers.entries()]);
      label = `expire offer ${o.offerId} of u${u}`;
      await sql`update waitlist_offers set expires_at = now() - interval '1 second' where id = ${o.offerId}`;
      expect(await expireOffers()).toBeGreaterThanOrEqual(1);
      m.offers.delete(u);
      m.free += o.party;
      settleModel();
    } else if (m.line.length > 0) {
      const w = pick(m.line);
      label = `leave u${w.user}`;
      const res = await api("DELETE", `/api/v1/waitlist/${event.id}`, { token: users[w.user]?.token });
      expect(res.status).toBe(204);
      m.line = m.line.filter((x) => x !== w);
      if (m.gatherer === w.user) {
        m.free += m.gathered;
        m.gathered = 0;
        m.gatherer = undefined;
      }
      settleModel();
    } else {
      continue;
    }
    log.push(`${step}: ${label}`);
    if (process.env.MODEL_TRACE) process.stderr.write(`${policy}/${seed} ${step}: ${label}\n`);
    await afterStep();
    await check(label);
  }
  // Nobody skipped under strict: the database's offers were made in the order people joined the
  // line (the model's order, which is FIFO under strict).
  const made = await sql<{ userId: number }[]>`
    select o.user_id from waitlist_offer_events e join waitlist_offers o on o.id = e.offer_id
    where e.event_id = ${event.id} and e.status = 'OFFERED' order by e.id`;
  expect(made.map((r) => users.findIndex((u) => u.id === Number(r.userId)))).toEqual(offeredInOrder);
  return { offers: offeredInOrder.length };
}

describe("party-size waitlist model", () => {
  for (const [policy, seeds] of [
    ["strict", [1, 2, 3, 4]],
    ["first_fit", [5, 6, 7]],
  ] as const) {
    for (const seed of seeds) {
      it(`${policy}, seed ${seed}: the database follows the model; no seat stuck, nobody skipped, no double offer`, async () => {
        const { offers } = await runScenario(seed, policy, 120);
        expect(offers).toBeGreaterThan(3);
      }, 120_000);
    }
  }
});
