import { beforeAll, describe, expect, it } from "bun:test";
import { waitlistKey } from "../../src/modules/waitlist/waitlist.service";
import { sql } from "../../src/platform/db";
import { redis, waitForRedis } from "../../src/platform/redis";
import { createEvent } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";
import { runAppInFreshProcess } from "../support/processes";

/** Work that scales with an event's size must not hit a per-statement limit (issue 13.9, 13.13). */
let admin: string;
beforeAll(async () => {
  expect(await waitForRedis(5_000)).toBe(true);
  admin = (await adminToken()).token;
});

const outboxRows = (stream: string, eventId: number) =>
  sql<{ n: number }[]>`
    select count(*)::int as n from outbox
    where stream = ${stream} and (payload->>'event_id')::bigint = ${eventId}`.then(([r]) => r?.n ?? 0);

describe("events with tens of thousands of seats", () => {
  it("deletes an event with 40,000 booked seats and notifies every holder", async () => {
    const event = await createEvent(admin, { capacity: 40_000 });
    const buyer = await registerAndLogin("bulk");
    // Booked behind the API's back, in one transaction the consistency triggers accept.
    await sql.begin(async (tx) => {
      await tx`update seats set status = 'BOOKED' where event_id = ${event.id}`;
      await tx`
        insert into bookings (user_id, event_id, seat_id, seat_number, status)
        select ${buyer.id}, event_id, id, seat_number, 'BOOKED' from seats where event_id = ${event.id}`;
    });
    const deleted = await api("DELETE", `/api/v1/events/${event.id}`, { token: admin });
    expect(deleted.status).toBe(204);
    const [left] = await sql<{ n: number }[]>`
      select count(*)::int as n from bookings where event_id = ${event.id} and status = 'BOOKED'`;
    expect(left?.n).toBe(0);
    const notified = await sql<{ n: number }[]>`
      select count(*)::int as n from outbox
      where stream = 'notifications' and payload->>'dedupe_key' like ${`event-deleted:${event.id}:%`}`;
    expect(notified[0]?.n).toBe(40_000);
  }, 60_000);

  it("offers every new seat of a capacity increase to a waitlist of 33,000", async () => {
    const event = await createEvent(admin, { capacity: 1 });
    const key = waitlistKey(event.id);
    const now = Date.now();
    for (let chunk = 0; chunk < 33; chunk++) {
      const args: (string | number)[] = [];
      for (let i = 0; i < 1_000; i++) args.push(now + chunk * 1_000 + i, String(1_000_000 + chunk * 1_000 + i));
      await redis.zadd(key, ...args);
    }
    const grown = await api("PUT", `/api/v1/events/${event.id}`, { token: admin, body: { capacity: 40_001 } });
    expect(grown.status).toBe(200);
    expect(await outboxRows("seat.released", event.id)).toBe(33_000);
    await redis.del(key);
  }, 60_000);

  it("offers the new seats of a capacity increase even when Redis cannot say who waits", async () => {
    const event = await createEvent(admin, { capacity: 2 });
    const status = await runAppInFreshProcess<number>(
      `const res = await app.request("/api/v1/events/${event.id}", {
        method: "PUT",
        headers: { authorization: "Bearer ${admin}", "content-type": "application/json" },
        body: JSON.stringify({ capacity: 7 }),
      });
      return res.status;`,
      { REDIS_URL: "redis://127.0.0.1:1/0" },
    );
    expect(status).toBe(200);
    // Redis down: the promoter decides later, once it can read the line (nobody waits -> AVAILABLE).
    expect(await outboxRows("seat.released", event.id)).toBe(5);
  }, 30_000);
});
