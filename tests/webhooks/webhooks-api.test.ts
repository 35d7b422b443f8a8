import { beforeAll, describe, expect, it } from "bun:test";
import { purgeOldDeliveries } from "../../src/modules/webhooks/webhooks.jobs";
import { sql } from "../../src/platform/db";
import { logger } from "../../src/platform/logger";
import { createEvent } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";

// This file runs without WEBHOOK_ALLOW_PRIVATE: the SSRF rule is in force. Public receivers are
// written as IP literals (TEST-NET-3), so nothing here needs DNS or a network.
const PUBLIC_URL = "https://203.0.113.10/hooks/evently";

let admin: { id: number; token: string };
let user: { id: number; token: string };
beforeAll(async () => {
  admin = await adminToken();
  user = await registerAndLogin("webhooks-user");
});

const create = (body: unknown, token = admin.token) => api("POST", "/api/v1/webhooks", { token, body });

describe("webhook subscriptions API", () => {
  it("creates a subscription and shows its whsec_ secret in that answer only", async () => {
    const res = await create({ url: PUBLIC_URL, events: ["booking.created", "event.updated"], description: "CRM" });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      url: PUBLIC_URL,
      events: ["booking.created", "event.updated"],
      description: "CRM",
      active: true,
    });
    expect(typeof res.body.id).toBe("number");
    expect(Date.parse(res.body.created_at)).toBeGreaterThan(0);
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(res.body.secret.slice(6), "base64")).toHaveLength(32);

    const one = await api("GET", `/api/v1/webhooks/${res.body.id}`, { token: admin.token });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: res.body.id, url: PUBLIC_URL, active: true });
    expect(one.text).not.toContain(res.body.secret);
    expect("secret" in one.body).toBe(false);

    const list = await api("GET", "/api/v1/webhooks?limit=200", { token: admin.token });
    expect(list.status).toBe(200);
    expect(Number(list.headers.get("x-total-count"))).toBeGreaterThanOrEqual(1);
    expect(list.body.map((w: { id: number }) => w.id)).toContain(res.body.id);
    expect(list.text).not.toContain("whsec_");
  });

  it("changes url, events and description, disables and re-enables, and deletes", async () => {
    const { body: hook } = await create({ url: PUBLIC_URL, events: ["booking.created"] });
    const patched = await api("PATCH", `/api/v1/webhooks/${hook.id}`, {
      token: admin.token,
      body: { url: "https://203.0.113.11/other", events: ["booking.cancelled", "hold.created"], description: "x" },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({
      url: "https://203.0.113.11/other",
      events: ["booking.cancelled", "hold.created"],
      description: "x",
      active: true,
    });

    const off = await api("PATCH", `/api/v1/webhooks/${hook.id}`, { token: admin.token, body: { active: false } });
    expect(off.body).toMatchObject({ active: false, disabled_reason: `disabled by admin ${admin.id}` });
    expect(off.body.disabled_at).not.toBeNull();
    const on = await api("PATCH", `/api/v1/webhooks/${hook.id}`, { token: admin.token, body: { active: true } });
    expect(on.body).toMatchObject({ active: true, disabled_reason: null, disabled_at: null, description: "x" });

    expect((await api("DELETE", `/api/v1/webhooks/${hook.id}`, { token: admin.token })).status).toBe(204);
    const gone = await api("GET", `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    expect(gone.status).toBe(404);
    expect(gone.body.code).toBe("WEBHOOK_NOT_FOUND");
    expect((await api("DELETE", `/api/v1/webhooks/${hook.id}`, { token: admin.token })).status).toBe(404);
  });

  it("rotates the secret: a new one shown once, the old one kept for the grace period", async () => {
    const { body: hook } = await create({ url: PUBLIC_URL, events: ["booking.created"] });
    const rotated = await api("POST", `/api/v1/webhooks/${hook.id}/rotate-secret`, { token: admin.token });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(hook.secret);
    const expires = Date.parse(rotated.body.previous_secret_expires_at);
    expect(expires - Date.now()).toBeGreaterThan(86_400_000 - 60_000); // default grace: a day
    const [row] = await sql<{ secret: string; previousSecret: string }[]>`
      select secret, previous_secret from webhook_subscriptions where id = ${hook.id}`;
    expect(row).toEqual({ secret: rotated.body.secret, previousSecret: hook.secret });
    const one = await api("GET", `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    expect(one.body.previous_secret_expires_at).toBe(rotated.body.previous_secret_expires_at);
  });

  it("refuses unknown or repeated event types, an empty list and a non-URL with 422, writing nothing", async () => {
    const before = await sql<{ n: number }[]>`select count(*)::int as n from webhook_subscriptions`;
    for (const body of [
      { url: PUBLIC_URL, events: ["booking.created", "booking.exploded"] },
      { url: PUBLIC_URL, events: ["booking.created", "booking.created"] },
      { url: PUBLIC_URL, events: [] },
      { url: "not a url", events: ["booking.created"] },
      { events: ["booking.created"] },
    ]) {
      const res = await create(body);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    const { body: hook } = await create({ url: PUBLIC_URL, events: ["event.deleted"] });
    const bad = await api("PATCH", `/api/v1/webhooks/${hook.id}`, { token: admin.token, body: { events: ["nope"] } });
    expect(bad.status).toBe(422);
    const after = await sql<{ n: number }[]>`select count(*)::int as n from webhook_subscriptions`;
    expect(after[0]?.n).toBe((before[0]?.n ?? 0) + 1);
  });

  it("refuses URLs that reach loopback, private, link-local, CGNAT or metadata addresses, or are not http(s)", async () => {
    for (const url of [
      "http://127.0.0.1:8080/hook",
      "http://localhost/hook",
      "http://[::1]/hook",
      "http://[::ffff:127.0.0.1]/hook",
      "http://10.1.2.3/hook",
      "http://172.16.0.1/hook",
      "http://192.168.1.1/hook",
      "http://169.254.169.254/latest/meta-data/",
      "http://100.64.0.1/hook",
      "http://[fd00:ec2::254]/hook",
      "http://[fe80::1]/hook",
      "http://0x7f000001/hook",
      "ftp://203.0.113.10/hook",
      "https://user:pass@203.0.113.10/hook",
    ]) {
      const res = await create({ url, events: ["booking.created"] });
      expect({ url, status: res.status, code: res.body.code }).toEqual({
        url,
        status: 422,
        code: "WEBHOOK_URL_REFUSED",
      });
      expect(res.body.errors?.[0]?.field).toBe("json.url");
    }
    const { body: hook } = await create({ url: PUBLIC_URL, events: ["booking.created"] });
    const patched = await api("PATCH", `/api/v1/webhooks/${hook.id}`, {
      token: admin.token,
      body: { url: "http://169.254.169.254/" },
    });
    expect(patched.status).toBe(422);
    expect(patched.body.code).toBe("WEBHOOK_URL_REFUSED");
    expect((await api("GET", `/api/v1/webhooks/${hook.id}`, { token: admin.token })).body.url).toBe(PUBLIC_URL);
  });

  it("is for admins only: 401 without a token, 403 for a user, on every route", async () => {
    const { body: hook } = await create({ url: PUBLIC_URL, events: ["booking.created"] });
    const routes: [string, string, unknown?][] = [
      ["POST", "/api/v1/webhooks", { url: PUBLIC_URL, events: ["booking.created"] }],
      ["GET", "/api/v1/webhooks"],
      ["GET", `/api/v1/webhooks/${hook.id}`],
      ["PATCH", `/api/v1/webhooks/${hook.id}`, { description: "mine now" }],
      ["DELETE", `/api/v1/webhooks/${hook.id}`],
      ["POST", `/api/v1/webhooks/${hook.id}/rotate-secret`],
      ["GET", `/api/v1/webhooks/${hook.id}/deliveries`],
      ["POST", `/api/v1/webhooks/${hook.id}/deliveries/1/redeliver`],
    ];
    for (const [method, path, body] of routes) {
      expect({ method, path, status: (await api(method, path, { body })).status }).toEqual({
        method,
        path,
        status: 401,
      });
      const asUser = await api(method, path, { token: user.token, body });
      expect({ method, path, status: asUser.status }).toEqual({ method, path, status: 403 });
      expect(asUser.body.code).toBe("FORBIDDEN");
    }
    const still = await api("GET", `/api/v1/webhooks/${hook.id}`, { token: admin.token });
    expect(still.body.description).toBeNull();
  });

  it("lists deliveries (none yet), 404s an unknown webhook or delivery", async () => {
    const { body: hook } = await create({ url: PUBLIC_URL, events: ["booking.created"] });
    const empty = await api("GET", `/api/v1/webhooks/${hook.id}/deliveries`, { token: admin.token });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual([]);
    expect(empty.headers.get("x-total-count")).toBe("0");
    const missing = await api("GET", "/api/v1/webhooks/999999/deliveries", { token: admin.token });
    expect(missing.body.code).toBe("WEBHOOK_NOT_FOUND");
    const noDelivery = await api("POST", `/api/v1/webhooks/${hook.id}/deliveries/999999/redeliver`, {
      token: admin.token,
    });
    expect(noDelivery.status).toBe(404);
    expect(noDelivery.body.code).toBe("WEBHOOK_DELIVERY_NOT_FOUND");
  });
});

describe("domain events in the outbox", () => {
  const domainRows = async (type: string, eventId: number) =>
    sql<{ payload: { type: string; event_id: number; data: Record<string, unknown> } }[]>`
      select payload from outbox where stream = 'domain.events' and payload->>'type' = ${type}
        and (payload->>'event_id')::bigint = ${eventId} order by id`;

  it("writes booking.created in the booking's transaction only while an active subscription wants it", async () => {
    await sql`update webhook_subscriptions set disabled_at = now(), disabled_reason = 'test' where disabled_at is null`;
    const event = await createEvent(admin.token, { capacity: 5 });
    expect((await api("POST", `/api/v1/events/${event.id}/book/1`, { token: user.token })).status).toBe(201);
    expect(await domainRows("booking.created", event.id)).toHaveLength(0);

    await create({ url: PUBLIC_URL, events: ["booking.created", "booking.cancelled"] });
    const booked = await api("POST", `/api/v1/events/${event.id}/bookings`, {
      token: user.token,
      body: { seat_numbers: [2, 3] },
    });
    expect(booked.status).toBe(201);
    const rows = await domainRows("booking.created", event.id);
    expect(rows.map((r) => r.payload.data.seat_number)).toEqual([2, 3]);
    expect(rows[0]?.payload).toMatchObject({
      type: "booking.created",
      event_id: event.id,
      data: {
        booking_id: booked.body.bookings[0].booking_id,
        event_id: event.id,
        user_id: user.id,
        seat_number: 2,
        status: "BOOKED",
        event_name: event.name,
      },
    });
    // A refused booking writes nothing.
    await api("POST", `/api/v1/events/${event.id}/book/2`, { token: user.token });
    expect(await domainRows("booking.created", event.id)).toHaveLength(2);

    const cancelled = await api("DELETE", `/api/v1/bookings/cancel/${booked.body.bookings[0].booking_id}`, {
      token: user.token,
    });
    expect(cancelled.status).toBe(200);
    const [cancel] = await domainRows("booking.cancelled", event.id);
    expect(cancel?.payload.data).toMatchObject({ booking_id: booked.body.bookings[0].booking_id, status: "CANCELLED" });
  });

  it("writes event.updated and event.deleted with the event", async () => {
    const event = await createEvent(admin.token, { capacity: 5 });
    await api("PUT", `/api/v1/events/${event.id}`, { token: admin.token, body: { name: `${event.name} (moved)` } });
    const [updated] = await domainRows("event.updated", event.id);
    expect(updated?.payload.data).toMatchObject({
      event: { id: event.id, name: `${event.name} (moved)` },
      changed: ["name"],
    });
    await api("DELETE", `/api/v1/events/${event.id}`, { token: admin.token });
    const [deleted] = await domainRows("event.deleted", event.id);
    expect(deleted?.payload.data).toMatchObject({ event: { id: event.id }, cancelled_bookings: 0 });
  });

  it("finds booking.created subscribers with one probe of the partial GIN index, as book_seats plans it", async () => {
    const plan = await sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      return tx.unsafe(`explain select exists (select 1 from webhook_subscriptions
        where disabled_at is null and events @> array['booking.created'])`);
    });
    expect(JSON.stringify(plan)).toContain("webhook_subscriptions_active_events_idx");
  });
});

describe("delivery retention", () => {
  it("purges finished deliveries older than 30 days and keeps pending and recent ones", async () => {
    const { body: hook } = await create({ url: PUBLIC_URL, events: ["event.updated"] });
    const insert = (outboxId: number, status: string, daysAgo: number) => sql`
      insert into webhook_deliveries (subscription_id, outbox_id, event_type, body, status, give_up_at, created_at)
      values (${hook.id}, ${outboxId}, 'event.updated', '{}', ${status}::webhook_delivery_status, now(),
              now() - make_interval(days => ${daysAgo}))`;
    await insert(1, "SUCCEEDED", 31);
    await insert(2, "FAILED", 45);
    await insert(3, "PENDING", 40);
    await insert(4, "SUCCEEDED", 2);
    await purgeOldDeliveries(logger);
    const left = await sql<{ outboxId: number }[]>`
      select outbox_id from webhook_deliveries where subscription_id = ${hook.id} order by outbox_id`;
    expect(left.map((r) => Number(r.outboxId))).toEqual([3, 4]);
  });
});
