import { beforeAll, describe, expect, it } from "bun:test";
import { promoteNextInLine } from "../../src/modules/waitlist/waitlist.offers";
import { headEntries } from "../../src/modules/waitlist/waitlist.store";
import { sql } from "../../src/platform/db";
import { createEvent, seatInvariants } from "../support/fixtures";
import { adminToken, api, manyUsers } from "../support/http";

/**
 * Hundreds of concurrent releases, promoter passes and declines on a party-size line (strict):
 * afterwards PostgreSQL holds one live offer per user at most, each OFFERED offer holds exactly
 * its party's seats, the offered are the head of the line in join order (nobody skipped), and no
 * seat is free while people wait.
 */
let admin: { token: string };
beforeAll(async () => {
  admin = await adminToken();
});

describe("party-size waitlist under concurrency", () => {
  it("keeps one offer per party, in line order, with no seat stuck, through 60 concurrent cancels, 100 promoter passes and declines", async () => {
    const capacity = 60;
    const event = await createEvent(admin.token, { capacity });
    const buyers = await manyUsers(capacity, "cb");
    const bookings = await Promise.all(
      buyers.map(async (b, i) => {
        const res = await api("POST", `/api/v1/events/${event.id}/book/${i + 1}`, { token: b.token });
        expect(res.status).toBe(201);
        return res.body.booking_id as number;
      }),
    );
    const waiters = await manyUsers(40, "cw");
    const party = (i: number) => 1 + (i % 4); // 100 seats wanted, 60 to give
    for (const [i, w] of waiters.entries()) {
      const res = await api("POST", `/api/v1/waitlist/${event.id}`, { token: w.token, body: { party_size: party(i) } });
      expect(res.status).toBe(201);
    }

    const declined: number[] = [];
    const decliner = async () => {
      // Whoever holds an offer among the first waiters declines it (its seats go on at once).
      for (const w of waiters.slice(0, 6)) {
        const offers = (await api("GET", "/api/v1/waitlist/offers", { token: w.token })).body as {
          offer_id: number;
          status: string;
        }[];
        const open = offers.find((o) => o.status === "OFFERED");
        if (!open) continue;
        const res = await api("POST", `/api/v1/waitlist/offers/${open.offer_id}/decline`, { token: w.token });
        expect([200, 409]).toContain(res.status);
        if (res.status === 200) declined.push(waiters.indexOf(w));
      }
    };
    await Promise.all([
      ...bookings.map((id, i) => api("DELETE", `/api/v1/bookings/cancel/${id}`, { token: buyers[i]?.token })),
      ...Array.from({ length: 100 }, () => promoteNextInLine(event.id)),
      decliner(),
      decliner(),
    ]);
    await promoteNextInLine(event.id); // the promoter's last pass over what the races left

    const inv = await seatInvariants(event.id);
    expect(inv).toMatchObject({ capacity, booked: 0, available: 0, held: capacity, seatsBookedTwice: 0 });
    const offers = await sql<{ userId: number; status: string; partySize: number; seats: number }[]>`
      select o.user_id, o.status, o.party_size, (select count(*) from seats s where s.offer_id = o.id)::int as seats
      from waitlist_offers o where o.event_id = ${event.id} and o.status in ('PENDING', 'OFFERED')`;
    const index = (o: { userId: number }) => waiters.findIndex((w) => w.id === Number(o.userId));
    expect(new Set(offers.map(index)).size).toBe(offers.length); // one live offer per user
    const offered = offers.filter((o) => o.status === "OFFERED");
    for (const o of offered) expect(o.seats).toBe(o.partySize);
    const pending = offers.filter((o) => o.status === "PENDING");
    expect(pending.length).toBeLessThanOrEqual(1);
    expect(offers.reduce((n, o) => n + o.seats, 0)).toBe(capacity); // every HELD seat is an offer's

    // Nobody skipped: the offered (and the declined) are exactly the first waiters, in join order,
    // and the gathering party (if any) is the head of what is left of the line.
    const line = (await headEntries(event.id, 100)).map((e) => waiters.findIndex((w) => w.id === e.userId));
    const servedSoFar = [...offered.map(index), ...declined].sort((a, b) => a - b);
    expect(servedSoFar).toEqual(Array.from({ length: servedSoFar.length }, (_, i) => i));
    expect(line).toEqual(Array.from({ length: waiters.length - servedSoFar.length }, (_, i) => servedSoFar.length + i));
    if (pending[0]) expect(index(pending[0])).toBe(line[0] as number);
  }, 120_000);
});
