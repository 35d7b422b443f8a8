import { beforeAll, describe, expect, it } from "bun:test";
import { config } from "../../src/config";
import { chooseSeats, expireOffers } from "../../src/modules/waitlist/waitlist.offers";
import { sql } from "../../src/platform/db";
import { createEvent, seatInvariants } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";

// Offers as resources, party sizes, policies, position and estimate, funnel (docs/waitlist.md).

let admin: { token: string; id: number };
beforeAll(async () => {
  admin = await adminToken();
});

type User = Awaited<ReturnType<typeof registerAndLogin>>;

/** An event of `capacity` seats, every seat booked by its own buyer (buyer i has seat i + 1). */
async function soldOut(capacity: number, policy: "strict" | "first_fit" = "strict") {
  const event = await createEvent(admin.token, { capacity, waitlist_policy: policy });
  const buyers: (User & { bookingId: number })[] = [];
  for (let seat = 1; seat <= capacity; seat++) {
    const buyer = await registerAndLogin(`b${seat}`);
    const b = await api("POST", `/api/v1/events/${event.id}/book/${seat}`, { token: buyer.token });
    expect(b.status).toBe(201);
    buyers.push({ ...buyer, bookingId: b.body.booking_id });
  }
  const cancel = async (seat: number) => {
    const buyer = buyers[seat - 1] as User & { bookingId: number };
    const res = await api("DELETE", `/api/v1/bookings/cancel/${buyer.bookingId}`, { token: buyer.token });
    expect(res.status).toBe(200);
  };
  return { event, buyers, cancel };
}

const join = (user: User, eventId: number, body?: unknown) =>
  api("POST", `/api/v1/waitlist/${eventId}`, { token: user.token, body });
const offersOf = async (user: User) => (await api("GET", "/api/v1/waitlist/offers", { token: user.token })).body;
const heldFor = async (eventId: number, userId: number) =>
  (
    await sql<{ seatNumber: number }[]>`
      select seat_number from seats where event_id = ${eventId} and status = 'HELD' and held_by = ${userId}
      order by seat_number`
  ).map((r) => r.seatNumber);

describe("joining with a party size", () => {
  it("accepts party_size 1..MAX_SEATS_PER_BOOKING, defaults to 1 without a body, and refuses anything else with 422", async () => {
    const { event } = await soldOut(1);
    const u = await registerAndLogin("p");
    for (const bad of [{ party_size: 0 }, { party_size: config.MAX_SEATS_PER_BOOKING + 1 }, { party_size: "2" }]) {
      const res = await join(u, event.id, bad);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
    expect((await api("GET", `/api/v1/waitlist/${event.id}`, { token: u.token })).status).toBe(404);
    const seed = await join(u, event.id); // the seed's empty body
    expect(seed.status).toBe(201);
    expect(seed.body).toMatchObject({ position: 1, ahead: 0, party_size: 1, size: 1, estimated_wait_seconds: null });
    const v = await registerAndLogin("p");
    const party = await join(v, event.id, { party_size: config.MAX_SEATS_PER_BOOKING });
    expect(party.body).toMatchObject({ position: 2, ahead: 1, party_size: config.MAX_SEATS_PER_BOOKING });
    // A second join keeps the first entry, party size included.
    expect((await join(v, event.id, { party_size: 1 })).body).toMatchObject({
      position: 2,
      party_size: config.MAX_SEATS_PER_BOOKING,
    });
  });

  it("lets a party join while fewer seats than it needs are free, and gathers them for it at once", async () => {
    const { event, cancel } = await soldOut(3);
    await cancel(2);
    const solo = await registerAndLogin("solo");
    expect((await join(solo, event.id)).body.code).toBe("SEATS_AVAILABLE");
    const pair = await registerAndLogin("pair");
    expect((await join(pair, event.id, { party_size: 2 })).status).toBe(201);
    expect(await heldFor(event.id, pair.id)).toEqual([2]);
    expect(await offersOf(pair)).toEqual([]); // gathering is not an offer yet
    expect((await api("GET", `/api/v1/waitlist/${event.id}`, { token: pair.token })).body.position).toBe(1);
  });
});

describe("offers", () => {
  it("offers a party all its seats at once, adjacent when it can, and accept turns them into bookings (201)", async () => {
    const { event, cancel } = await soldOut(6);
    const party = await registerAndLogin("party");
    await join(party, event.id, { party_size: 3 });
    await cancel(2);
    await cancel(5);
    expect(await heldFor(event.id, party.id)).toEqual([2, 5]);
    expect(await offersOf(party)).toEqual([]);
    await cancel(6);
    const [offer] = await offersOf(party);
    expect(offer).toMatchObject({ event_id: event.id, seats: [2, 5, 6], party_size: 3, status: "OFFERED" });
    expect(new Date(offer.expires_at).getTime()).toBeGreaterThan(Date.now());
    // Off the line once offered.
    expect((await api("GET", `/api/v1/waitlist/${event.id}`, { token: party.token })).status).toBe(404);

    const accepted = await api("POST", `/api/v1/waitlist/offers/${offer.offer_id}/accept`, { token: party.token });
    expect(accepted.status).toBe(201);
    expect(accepted.body.bookings.map((b: { seat_number: number }) => b.seat_number)).toEqual([2, 5, 6]);
    expect(accepted.body.bookings[0]).toMatchObject({ event_id: event.id, status: "BOOKED", event_name: event.name });
    expect((await offersOf(party))[0]).toMatchObject({ offer_id: offer.offer_id, status: "ACCEPTED" });
    const again = await api("POST", `/api/v1/waitlist/offers/${offer.offer_id}/accept`, { token: party.token });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("OFFER_ANSWERED");
    expect(await seatInvariants(event.id)).toMatchObject({ held: 0, booked: 6, bookedSeatsWithoutOneBooking: 0 });
  });

  it("picks adjacent seats when enough adjacent ones are free, else what was gathered plus the lowest", () => {
    const s = (...n: number[]) => n.map((x) => ({ id: 100 + x, seatNumber: x }));
    expect(chooseSeats(s(9), s(1, 2, 4, 5), 2).chosen.map((x) => x.seatNumber)).toEqual([1, 2]);
    expect(chooseSeats(s(5), s(1, 2, 4), 2)).toEqual({ chosen: s(4, 5), returned: [] });
    expect(chooseSeats(s(9), s(1, 3, 5), 3)).toEqual({ chosen: s(1, 3, 9), returned: [] });
    expect(chooseSeats(s(9), s(1, 2, 3), 3)).toEqual({ chosen: s(1, 2, 3), returned: s(9) });
  });

  it("answers someone else's offer and unknown ids 404, and hands a declined offer to the next in line at once", async () => {
    const { event, cancel } = await soldOut(2);
    const [w1, w2, stranger] = [
      await registerAndLogin("w1"),
      await registerAndLogin("w2"),
      await registerAndLogin("x"),
    ];
    await join(w1, event.id);
    await join(w2, event.id);
    await cancel(1);
    const [offer] = await offersOf(w1);
    expect(offer).toMatchObject({ seats: [1], status: "OFFERED" });
    for (const path of [
      `/api/v1/waitlist/offers/${offer.offer_id}/accept`,
      `/api/v1/waitlist/offers/${offer.offer_id}/decline`,
    ]) {
      const res = await api("POST", path, { token: stranger.token });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("OFFER_NOT_FOUND");
    }
    expect((await api("POST", "/api/v1/waitlist/offers/999999999/accept", { token: w1.token })).body.code).toBe(
      "OFFER_NOT_FOUND",
    );
    expect((await api("GET", "/api/v1/waitlist/offers", { token: stranger.token })).body).toEqual([]);

    const declined = await api("POST", `/api/v1/waitlist/offers/${offer.offer_id}/decline`, { token: w1.token });
    expect(declined.status).toBe(200);
    expect(declined.body).toMatchObject({ offer_id: offer.offer_id, status: "DECLINED" });
    // No worker runs here: the next in line was offered inside the decline.
    expect(await offersOf(w2)).toMatchObject([{ seats: [1], status: "OFFERED" }]);
    expect(await heldFor(event.id, w2.id)).toEqual([1]);
    const twice = await api("POST", `/api/v1/waitlist/offers/${offer.offer_id}/decline`, { token: w1.token });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe("OFFER_ANSWERED");
  });

  it("refuses an offer past its expiry with 409 OFFER_EXPIRED; the janitor ends it and the next in line gets the seats", async () => {
    const { event, cancel } = await soldOut(2);
    const [w1, w2] = [await registerAndLogin("e1"), await registerAndLogin("e2")];
    await join(w1, event.id, { party_size: 2 });
    await join(w2, event.id, { party_size: 2 });
    await cancel(1);
    await cancel(2);
    const [offer] = await offersOf(w1);
    await sql`update waitlist_offers set expires_at = now() - interval '1 second' where id = ${offer.offer_id}`;
    const late = await api("POST", `/api/v1/waitlist/offers/${offer.offer_id}/accept`, { token: w1.token });
    expect(late.status).toBe(409);
    expect(late.body.code).toBe("OFFER_EXPIRED");
    expect(await expireOffers()).toBe(1);
    expect((await offersOf(w1))[0]).toMatchObject({ status: "EXPIRED" });
    expect(await offersOf(w2)).toMatchObject([{ seats: [1, 2], status: "OFFERED" }]);
    const stale = await api("POST", `/api/v1/waitlist/offers/${offer.offer_id}/decline`, { token: w1.token });
    expect(stale.body.code).toBe("OFFER_EXPIRED");
    const domain = await sql<{ type: string; data: { seat_numbers: number[]; party_size: number } }[]>`
      select payload->>'type' as type, payload->'data' as data from outbox
      where stream = 'domain.events' and (payload->'data'->>'offer_id')::bigint = ${offer.offer_id} order by id`;
    expect(domain.map((d) => d.type)).toEqual(["waitlist.offered", "waitlist.expired"]);
    expect(domain[1]?.data).toMatchObject({ seat_numbers: [1, 2], party_size: 2 });
    const mail = await sql<{ kind: string }[]>`
      select payload->>'kind' as kind from outbox
      where stream = 'notifications' and payload->>'to' = ${w1.email} order by id`;
    expect(mail.map((m) => m.kind)).toEqual(["waitlist_offer", "waitlist_offer_expired"]);
  });

  it("still lets the holder book an offered seat with the old POST /events/{id}/book/{seat} (the offer is then ACCEPTED)", async () => {
    const { event, cancel } = await soldOut(2);
    const w = await registerAndLogin("old");
    const other = await registerAndLogin("other");
    await join(w, event.id);
    await cancel(2);
    expect((await api("POST", `/api/v1/events/${event.id}/book/2`, { token: other.token })).body.code).toBe(
      "SEAT_HELD",
    );
    const booked = await api("POST", `/api/v1/events/${event.id}/book/2`, { token: w.token });
    expect(booked.status).toBe(201);
    expect(booked.body).toMatchObject({ seat_number: 2, status: "BOOKED" });
    expect((await offersOf(w))[0]).toMatchObject({ seats: [2], status: "ACCEPTED" });
    const [{ offer_id } = { offer_id: 0 }] = await offersOf(w);
    const events = await sql<{ status: string }[]>`
      select status from waitlist_offer_events where offer_id = ${offer_id} order by id`;
    expect(events.map((e) => e.status)).toEqual(["PENDING", "OFFERED", "ACCEPTED"]);
    const domain = await sql<{ type: string }[]>`
      select payload->>'type' as type from outbox
      where stream = 'domain.events' and (payload->'data'->>'offer_id')::bigint = ${offer_id} order by id`;
    expect(domain.map((d) => d.type)).toEqual(["waitlist.offered", "waitlist.accepted"]);
  });

  it("leaving the line while seats gather for the party hands them to the next in line", async () => {
    const { event, cancel } = await soldOut(2);
    const [big, small] = [await registerAndLogin("big"), await registerAndLogin("small")];
    await join(big, event.id, { party_size: 2 });
    await join(small, event.id);
    await cancel(1);
    expect(await heldFor(event.id, big.id)).toEqual([1]);
    expect((await api("DELETE", `/api/v1/waitlist/${event.id}`, { token: big.token })).status).toBe(204);
    expect(await heldFor(event.id, big.id)).toEqual([]);
    expect(await offersOf(small)).toMatchObject([{ seats: [1], status: "OFFERED" }]);
  });
});

describe("policies", () => {
  it("is an event setting: strict by default, first_fit on create or update, anything else 422", async () => {
    const e = await createEvent(admin.token, { capacity: 1 });
    expect(e.waitlist_policy).toBe("strict");
    const changed = await api("PUT", `/api/v1/events/${e.id}`, {
      token: admin.token,
      body: { waitlist_policy: "first_fit" },
    });
    expect(changed.status).toBe(200);
    expect(changed.body.waitlist_policy).toBe("first_fit");
    expect((await api("GET", `/api/v1/events/${e.id}`)).body.waitlist_policy).toBe("first_fit");
    const bad = await api("PUT", `/api/v1/events/${e.id}`, {
      token: admin.token,
      body: { waitlist_policy: "lottery" },
    });
    expect(bad.status).toBe(422);
  });

  for (const policy of ["strict", "first_fit"] as const) {
    it(`${policy}: a freed seat the head's party of 2 cannot use ${policy === "strict" ? "gathers for the head; the solo behind waits" : "goes to the solo behind"}`, async () => {
      const { event, cancel } = await soldOut(3, policy);
      const [pair, solo] = [await registerAndLogin("pair"), await registerAndLogin("solo")];
      await join(pair, event.id, { party_size: 2 });
      await join(solo, event.id);
      await cancel(3);
      if (policy === "strict") {
        expect(await heldFor(event.id, pair.id)).toEqual([3]);
        expect(await offersOf(solo)).toEqual([]);
        await cancel(1);
        expect(await offersOf(pair)).toMatchObject([{ seats: [1, 3], status: "OFFERED" }]);
      } else {
        // The cancel defers a party it cannot seat to the promoter's pass over the line.
        const { promoteNextInLine } = await import("../../src/modules/waitlist/waitlist.offers");
        await promoteNextInLine(event.id);
        expect(await offersOf(solo)).toMatchObject([{ seats: [3], status: "OFFERED" }]);
        expect(await heldFor(event.id, pair.id)).toEqual([]);
        expect((await api("GET", `/api/v1/waitlist/${event.id}`, { token: pair.token })).body.position).toBe(1);
      }
    });
  }
});

describe("position, estimate and funnel", () => {
  it("answers position, ahead, party size and an estimate from the last hour's releases; the funnel adds up", async () => {
    const { event, cancel } = await soldOut(4);
    const [a, b, c] = [await registerAndLogin("a"), await registerAndLogin("b"), await registerAndLogin("c")];
    await join(a, event.id);
    await join(b, event.id, { party_size: 2 });
    const cj = await join(c, event.id, { party_size: 3 });
    expect(cj.body).toMatchObject({ position: 3, ahead: 2, party_size: 3, size: 3, estimated_wait_seconds: null });

    await cancel(1); // to a
    const [offerA] = await offersOf(a);
    await api("POST", `/api/v1/waitlist/offers/${offerA.offer_id}/decline`, { token: a.token }); // seat 1 gathers for b
    await cancel(2); // b's pair complete
    const [offerB] = await offersOf(b);
    expect(offerB.seats).toEqual([1, 2]);
    await api("POST", `/api/v1/waitlist/offers/${offerB.offer_id}/accept`, { token: b.token });
    // Released in the last hour: 2 cancellations + 1 declined seat = 3 seats; c is now first and
    // wants 3 seats: 3 * 3600 / 3.
    const mine = await api("GET", `/api/v1/waitlist/${event.id}`, { token: c.token });
    expect(mine.body).toMatchObject({ position: 1, ahead: 0, party_size: 3, size: 1, estimated_wait_seconds: 3600 });

    const funnel = await api("GET", `/api/v1/analytics/waitlist-funnel?event_id=${event.id}`, { token: admin.token });
    expect(funnel.status).toBe(200);
    expect(funnel.body).toMatchObject({
      event_id: event.id,
      joined: 3,
      offered: 2,
      accepted: 1,
      declined: 1,
      expired: 0,
      open: 0,
      conversion_rate: 0.5,
    });
    expect(funnel.body.median_seconds_to_accept).toBeGreaterThanOrEqual(0);
    expect((await api("GET", "/api/v1/analytics/waitlist-funnel", { token: a.token })).status).toBe(403);
    const all = await api("GET", "/api/v1/analytics/waitlist-funnel", { token: admin.token });
    expect(all.body.event_id).toBeNull();
    expect(all.body.offered).toBeGreaterThanOrEqual(2);
  });
});
