import { beforeAll, describe, expect, it } from "bun:test";
import { dropStartedWaitlists } from "../../src/modules/waitlist/waitlist.service";
import { waitlistKey } from "../../src/modules/waitlist/waitlist.store";
import { sql } from "../../src/platform/db";
import { redis } from "../../src/platform/redis";
import { createEvent } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";
import { testEnv } from "../support/test-env";

const prefix = testEnv.REDIS_KEY_PREFIX as string;
// KEYS is fine here: this test's own prefix, a few dozen keys (never on a request path).
const ourKeys = async () => (await redis.keys(`${prefix}*`)).sort();

let admin: { token: string };
beforeAll(async () => {
  admin = await adminToken();
});

describe("reads of ids that do not exist", () => {
  it("create no Redis key: 200 reads of missing events and seat maps leave the key count unchanged", async () => {
    // A real read first, so that whatever one-off keys reading creates (the coherence lease) exist.
    const real = await createEvent(admin.token, { capacity: 3 });
    expect((await api("GET", `/api/v1/events/${real.id}`)).status).toBe(200);
    expect((await api("GET", `/api/v1/events/${real.id}/seats`)).status).toBe(200);
    // The lease is registered once the subscription is up, a moment after the first read.
    for (let i = 0; i < 100 && !(await redis.exists("cache:{coherence}:readers")); i++) await Bun.sleep(20);
    const before = await ourKeys();

    const base = 900_000_000 + Math.floor(Math.random() * 1_000_000);
    const statuses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        api("GET", i % 2 === 0 ? `/api/v1/events/${base + i}` : `/api/v1/events/${base + i}/seats`).then(
          (r) => r.status,
        ),
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([404]));
    expect(await ourKeys()).toEqual(before);
  });

  it("still caches an event that exists once its scope has a version", async () => {
    const event = await createEvent(admin.token, { capacity: 2 });
    for (let i = 0; i < 3; i++) expect((await api("GET", `/api/v1/events/${event.id}`)).status).toBe(200);
    const keys = await ourKeys();
    expect(keys.some((k) => k.endsWith(`cache:{event:${event.id}}:v`))).toBe(true);
    expect(keys.some((k) => k.endsWith(`cache:{event:${event.id}}:f1:doc`))).toBe(true);
  });
});

describe("waitlists under Redis's eviction policy (volatile-ttl)", () => {
  async function lineOfSoldOutEvent() {
    const event = await createEvent(admin.token, { capacity: 1 });
    const buyer = await registerAndLogin("evict-buyer");
    expect((await api("POST", `/api/v1/events/${event.id}/book/1`, { token: buyer.token })).status).toBe(201);
    const waiter = await registerAndLogin("evict-waiter");
    expect((await api("POST", `/api/v1/waitlist/${event.id}`, { token: waiter.token })).status).toBe(201);
    return event;
  }

  it("keeps a waitlist without a TTL, so only keys with one (cache entries) can be evicted", async () => {
    const event = await lineOfSoldOutEvent();
    expect(await redis.pttl(waitlistKey(event.id))).toBe(-1);
  });

  it("drops the line of an event that started, however long ago, through the janitor's sweep", async () => {
    const event = await lineOfSoldOutEvent();
    await sql`update events set start_time = now() - interval '3 days', end_time = null where id = ${event.id}`;
    await dropStartedWaitlists();
    expect(await redis.exists(waitlistKey(event.id))).toBe(0);
  });
});
