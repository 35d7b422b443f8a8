import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import Redis from "ioredis";
import type { seats } from "../../src/db/schema";
import { expireOffers, promoteNextInLine, waitlistKey } from "../../src/modules/waitlist/waitlist.service";
import { sql } from "../../src/platform/db";
import { redis, waitForRedis } from "../../src/platform/redis";
import { createEvent } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";
import { runAppInFreshProcess } from "../support/processes";
import { PrivateRedis } from "../support/redis-server";

type SeatRow = typeof seats.$inferSelect;
let admin: string;
beforeAll(async () => {
  expect(await waitForRedis(5_000)).toBe(true);
  admin = (await adminToken()).token;
});

const seat = (eventId: number, n: number) =>
  sql<Pick<SeatRow, "id" | "status" | "heldBy">[]>`
    select id, status, held_by from seats where event_id = ${eventId} and seat_number = ${n}`.then(([r]) => r);

describe("waitlist edges (issue 13.12, 13.13)", () => {
  it("offers a freed seat past any number of people who already have a seat", async () => {
    const event = await createEvent(admin, { capacity: 61 });
    const seated = [];
    for (let n = 1; n <= 60; n++) {
      const u = await registerAndLogin(`seated${n}`);
      expect((await api("POST", `/api/v1/events/${event.id}/book/${n}`, { token: u.token })).status).toBe(201);
      seated.push(u.id);
    }
    const waiter = await registerAndLogin("patient");
    // The seated are still on the line (joined before they booked, say); the waiter is 61st.
    const now = Date.now();
    await redis.zadd(
      waitlistKey(event.id),
      ...seated.flatMap((id, i) => [now + i, String(id)]),
      now + 100,
      String(waiter.id),
    );
    const free = await seat(event.id, 61);
    const result = await promoteNextInLine(event.id, free?.id as number);
    expect(result).toMatchObject({ outcome: "offered", userId: waiter.id });
    expect(await seat(event.id, 61)).toMatchObject({ status: "HELD", heldBy: waiter.id });
  }, 60_000);

  it("e-mails every expiry of an offer, even a second one for the same seat and person", async () => {
    const event = await createEvent(admin, { capacity: 1 });
    const holder = await registerAndLogin("twice");
    const [s] = await sql<{ id: number }[]>`select id from seats where event_id = ${event.id}`;
    const expireHold = async () => {
      await sql`update seats set status = 'HELD', held_by = ${holder.id}, hold_expires_at = now() - interval '1 second'
                where id = ${s?.id as number}`;
      expect(await expireOffers()).toBe(1);
      await Bun.sleep(5); // the second hold ends at another instant
    };
    await expireHold();
    await expireHold();
    const keys = await sql<{ key: string }[]>`
      select payload->>'dedupe_key' as key from outbox
      where stream = 'notifications' and payload->>'kind' = 'waitlist_offer_expired' and payload->>'to' = ${holder.email}`;
    expect(keys.length).toBe(2);
    expect(new Set(keys.map((k) => k.key)).size).toBe(2);
  });

  describe("a Redis failure after a cancel has committed", () => {
    const privateRedis = new PrivateRedis();
    beforeAll(() => privateRedis.start());
    afterAll(() => privateRedis.dispose());

    it("still answers the cancel 200 and shows readers the new state", async () => {
      // A Redis user that may do everything but ZREM: the cancel's offer commits, then taking the
      // person off the line fails.
      const control = new Redis(privateRedis.port, "127.0.0.1");
      await control.call("ACL", "SETUSER", "nozrem", "on", ">nozrem-pass", "~*", "&*", "+@all", "-zrem");
      control.disconnect();
      const event = await createEvent(admin, { capacity: 1 });
      const buyer = await registerAndLogin("canceller");
      const waiter = await registerAndLogin("next");
      const booked = await api("POST", `/api/v1/events/${event.id}/book/1`, { token: buyer.token });
      const out = await runAppInFreshProcess<{ join: number; cancel: number; held: number }>(
        `const call = (method, path, token) => app.request(path, { method, headers: { authorization: "Bearer " + token } });
        const join = (await call("POST", "/api/v1/waitlist/${event.id}", "${waiter.token}")).status;
        const cancel = (await call("DELETE", "/api/v1/bookings/cancel/${booked.body.booking_id}", "${buyer.token}")).status;
        const doc = await (await call("GET", "/api/v1/events/${event.id}", "${buyer.token}")).json();
        return { join, cancel, held: doc.held_seats };`,
        { REDIS_URL: `redis://nozrem:nozrem-pass@127.0.0.1:${privateRedis.port}/0` },
      );
      expect(out).toEqual({ join: 201, cancel: 200, held: 1 });
      expect(await seat(event.id, 1)).toMatchObject({ status: "HELD", heldBy: waiter.id });
    }, 30_000);
  });
});
