import { afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { createHmac } from "node:crypto";
import type { Server } from "bun";
import { Webhook } from "standardwebhooks";

// Set before the app and config load (dynamic imports below): receivers here listen on loopback,
// and the grace period after a rotation is short enough to wait out.
process.env.WEBHOOK_ALLOW_PRIVATE = "true";
process.env.WEBHOOK_SECRET_GRACE_SECONDS = "3";
const { sql } = await import("../../src/platform/db");
const { createEvent } = await import("../support/fixtures");
const { adminToken, api, registerAndLogin } = await import("../support/http");
const { freePort, repoRoot, spawnLogged, stopProcess } = await import("../support/processes");
const { waitFor } = await import("../support/wait");
type Spawned = ReturnType<typeof spawnLogged>;

// Real worker processes on a shared machine: starts, retries and takeovers take seconds.
setDefaultTimeout(90_000);

/** Short timings so that retries, leases and takeovers happen within a test. */
const DISPATCHER_ENV: Record<string, string> = {
  WEBHOOK_ALLOW_PRIVATE: "true",
  WEBHOOK_RETRY_BASE_MS: "200",
  WEBHOOK_RETRY_MAX_DELAY_MS: "800",
  WEBHOOK_TIMEOUT_MS: "1500",
  WEBHOOK_POLL_INTERVAL_MS: "100",
  STREAM_VISIBILITY_TIMEOUT_MS: "1500",
  METRICS_PORT: "0",
};

const dispatchers: Spawned[] = [];
async function startDispatcher(env: Record<string, string> = {}): Promise<Spawned> {
  const p = spawnLogged([process.execPath, `${repoRoot}/workers/webhook-dispatcher.ts`], { ...DISPATCHER_ENV, ...env });
  dispatchers.push(p);
  await p.waitForLine((l) => l.msg === "worker running" && l.worker === "webhook-dispatcher", 30_000);
  return p;
}

interface Received {
  path: string;
  id: string;
  timestamp: string;
  signature: string;
  body: string;
}

/** A real HTTP receiver: /ok 200, /slow 200 after a while, /gone 410, /fail 500, /redirect 302 → /target. */
class Receiver {
  readonly received: Received[] = [];
  private server: Server<undefined> | undefined;
  constructor(
    readonly port = freePort(),
    private readonly slowMs = 700,
  ) {}

  start(): this {
    this.server = Bun.serve({
      port: this.port,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        const path = new URL(req.url).pathname;
        this.received.push({
          path,
          id: req.headers.get("webhook-id") ?? "",
          timestamp: req.headers.get("webhook-timestamp") ?? "",
          signature: req.headers.get("webhook-signature") ?? "",
          body: await req.text(),
        });
        if (path === "/slow") await Bun.sleep(this.slowMs);
        if (path === "/gone") return new Response("gone", { status: 410 });
        if (path === "/fail") return new Response("x".repeat(10_000), { status: 500 });
        if (path === "/redirect") return new Response(null, { status: 302, headers: { location: "/target" } });
        return new Response("thanks");
      },
    });
    return this;
  }

  stop(): void {
    this.server?.stop(true);
    this.server = undefined;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  ids(path?: string): Set<string> {
    return new Set(this.received.filter((r) => path === undefined || r.path === path).map((r) => r.id));
  }
}

const receivers: Receiver[] = [];
const receiver = (slowMs?: number) => {
  const r = new Receiver(undefined, slowMs);
  receivers.push(r);
  return r;
};

let admin: { id: number; token: string };
let user: { id: number; token: string };
beforeAll(async () => {
  admin = await adminToken();
  user = await registerAndLogin("webhook-deliveries");
});

afterEach(async () => {
  await Promise.all(dispatchers.splice(0).map(stopProcess));
  for (const r of receivers.splice(0)) r.stop();
  // Each test hears only of its own subscriptions.
  await sql`delete from webhook_subscriptions`;
});

async function subscribe(url: string, events: string[]): Promise<{ id: number; secret: string }> {
  const res = await api("POST", "/api/v1/webhooks", { token: admin.token, body: { url, events } });
  expect(res.status).toBe(201);
  return res.body;
}

/** `n` event.updated domain events, one PUT each. */
async function updateEvent(eventId: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await api("PUT", `/api/v1/events/${eventId}`, { token: admin.token, body: { description: `v${i}` } });
    expect(res.status).toBe(200);
  }
}

const deliveries = async (hookId: number) =>
  (await api("GET", `/api/v1/webhooks/${hookId}/deliveries?limit=200`, { token: admin.token })).body as {
    id: number;
    message_id: string;
    status: string;
    attempts: number;
    last_response_code: number | null;
    last_attempt_at: string | null;
    last_error: string | null;
    last_response_body: string | null;
    payload: Record<string, unknown>;
  }[];

/** The documented recipe (docs/webhooks.md): HMAC-SHA256 over "id.timestamp.body" with the base64 key. */
function recipeSignature(secret: string, r: Received): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  return createHmac("sha256", key).update(`${r.id}.${r.timestamp}.${r.body}`).digest("base64");
}

const headersOf = (r: Received) => ({
  "webhook-id": r.id,
  "webhook-timestamp": r.timestamp,
  "webhook-signature": r.signature,
});

describe("webhook delivery", () => {
  it("delivers booking.created signed the Standard Webhooks way: the documented recipe and the standardwebhooks verifier both accept it", async () => {
    const rx = receiver().start();
    const hook = await subscribe(rx.url("/ok"), ["booking.created"]);
    await startDispatcher();
    const event = await createEvent(admin.token, { capacity: 5 });
    const booked = await api("POST", `/api/v1/events/${event.id}/book/4`, { token: user.token });
    expect(booked.status).toBe(201);

    await waitFor(() => rx.received.length === 1, "the delivery");
    const [got] = rx.received as [Received];
    expect(got.id).toMatch(/^msg_\d+$/);
    expect(Math.abs(Number(got.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    expect(got.signature).toBe(`v1,${recipeSignature(hook.secret, got)}`);
    const verified = new Webhook(hook.secret).verify(got.body, headersOf(got));
    expect(verified).toMatchObject({
      type: "booking.created",
      data: {
        event_id: event.id,
        booking_id: booked.body.booking_id,
        user_id: user.id,
        seat_number: 4,
        status: "BOOKED",
        event_name: event.name,
      },
    });
    expect(Date.parse((verified as { timestamp: string }).timestamp)).toBeGreaterThan(Date.now() - 60_000);
    // Someone else's secret does not verify it.
    expect(() =>
      new Webhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`).verify(got.body, headersOf(got)),
    ).toThrow();

    await waitFor(async () => (await deliveries(hook.id))[0]?.status === "SUCCEEDED", "the delivery recorded");
    const [d] = await deliveries(hook.id);
    expect(d).toMatchObject({ message_id: got.id, status: "SUCCEEDED", attempts: 1, last_response_code: 200 });
    expect(d?.last_response_body).toBe("thanks");
    expect(Date.parse(d?.last_attempt_at ?? "")).toBeGreaterThan(Date.now() - 60_000);
  });

  it("retries while the receiver is down, with back-off, and delivers everything once it is back", async () => {
    const rx = receiver(); // not listening yet
    const hook = await subscribe(rx.url("/ok"), ["event.updated"]);
    await startDispatcher();
    const event = await createEvent(admin.token, { capacity: 3 });
    await updateEvent(event.id, 5);

    await waitFor(async () => {
      const ds = await deliveries(hook.id);
      return ds.length === 5 && ds.every((d) => d.attempts >= 3 && d.status === "PENDING");
    }, "several failed attempts of each delivery");
    const failing = await deliveries(hook.id);
    expect(failing.every((d) => d.last_response_code === null && (d.last_error ?? "").length > 0)).toBe(true);

    rx.start();
    await waitFor(() => rx.ids("/ok").size === 5, "all five once the receiver is back", 30_000);
    await waitFor(async () => (await deliveries(hook.id)).every((d) => d.status === "SUCCEEDED"), "all recorded");
    const bodies = [...rx.ids("/ok")].map((id) => JSON.parse(rx.received.find((r) => r.id === id)?.body ?? "{}"));
    expect(bodies.map((b) => b.data.event.description).sort()).toEqual(["v0", "v1", "v2", "v3", "v4"]);
    for (const r of rx.received) expect(new Webhook(hook.secret).verify(r.body, headersOf(r))).toBeTruthy();
  });

  it("loses nothing when a dispatcher is killed with kill -9 in the middle of deliveries", async () => {
    const rx = receiver(900).start();
    const hook = await subscribe(rx.url("/slow"), ["event.updated"]);
    const event = await createEvent(admin.token, { capacity: 3 });
    const first = await startDispatcher({ WEBHOOK_CONCURRENCY: "2" });
    await updateEvent(event.id, 12);
    // Requests are in flight (the receiver holds each for 900 ms) when the process dies.
    await waitFor(() => rx.received.length >= 2, "the first attempts to arrive");
    first.proc.kill(9);
    await first.proc.exited;
    const seenBeforeKill = rx.ids().size;
    expect(seenBeforeKill).toBeLessThan(12);
    // Attempts the dead process had started (the receiver got them) but never recorded.
    const [cut] = await sql<{ n: number }[]>`
      select count(*)::int as n from webhook_deliveries
      where subscription_id = ${hook.id} and status = 'PENDING' and attempts >= 1`;
    expect(cut?.n).toBeGreaterThanOrEqual(1);

    await startDispatcher({ WEBHOOK_CONCURRENCY: "4" });
    await waitFor(() => rx.ids("/slow").size === 12, "every message delivered after the restart", 60_000);
    await waitFor(
      async () => {
        const ds = await deliveries(hook.id);
        return ds.length === 12 && ds.every((d) => d.status === "SUCCEEDED");
      },
      "every delivery recorded as succeeded",
      30_000,
    );
    // Exactly one delivery per outbox entry, whatever was retried.
    const [row] = await sql<{ n: number; outboxes: number }[]>`
      select count(*)::int as n, count(distinct outbox_id)::int as outboxes
      from webhook_deliveries where subscription_id = ${hook.id}`;
    expect(row).toEqual({ n: 12, outboxes: 12 });
  });

  it("signs with both secrets during a rotation's grace period, and only with the new one after it", async () => {
    const rx = receiver().start();
    const hook = await subscribe(rx.url("/ok"), ["event.updated"]);
    await startDispatcher();
    const event = await createEvent(admin.token, { capacity: 3 });
    const rotated = await api("POST", `/api/v1/webhooks/${hook.id}/rotate-secret`, { token: admin.token });
    expect(rotated.status).toBe(200);
    const newSecret: string = rotated.body.secret;

    await updateEvent(event.id, 1);
    await waitFor(() => rx.received.length === 1, "the delivery during the grace period");
    const during = rx.received[0] as Received;
    const sigs = during.signature.split(" ");
    expect(sigs).toHaveLength(2);
    expect(sigs).toContain(`v1,${recipeSignature(newSecret, during)}`);
    expect(sigs).toContain(`v1,${recipeSignature(hook.secret, during)}`);
    expect(new Webhook(newSecret).verify(during.body, headersOf(during))).toBeTruthy();
    expect(new Webhook(hook.secret).verify(during.body, headersOf(during))).toBeTruthy();

    const graceEnds = Date.parse(rotated.body.previous_secret_expires_at);
    await waitFor(() => Date.now() > graceEnds + 200, "the end of the grace period");
    await updateEvent(event.id, 1);
    await waitFor(() => rx.received.length === 2, "the delivery after the grace period");
    const after = rx.received[1] as Received;
    expect(after.signature.split(" ")).toEqual([`v1,${recipeSignature(newSecret, after)}`]);
    expect(new Webhook(newSecret).verify(after.body, headersOf(after))).toBeTruthy();
    expect(() => new Webhook(hook.secret).verify(after.body, headersOf(after))).toThrow();
  });

  it("disables a subscription at once when the receiver answers 410 Gone, saying why", async () => {
    const rx = receiver().start();
    const hook = await subscribe(rx.url("/gone"), ["event.updated"]);
    await startDispatcher();
    const event = await createEvent(admin.token, { capacity: 3 });
    await updateEvent(event.id, 3);

    await waitFor(
      async () => (await api("GET", `/api/v1/webhooks/${hook.id}`, { token: admin.token })).body.active === false,
      "the subscription disabled",
    );
    const sub = (await api("GET", `/api/v1/webhooks/${hook.id}`, { token: admin.token })).body;
    expect(sub.disabled_reason).toBe("the receiver answered 410 Gone");
    await waitFor(async () => (await deliveries(hook.id)).length === 3, "all three deliveries made");
    await waitFor(
      async () => (await deliveries(hook.id)).every((d) => d.status === "FAILED"),
      "its deliveries marked failed",
    );
    expect(rx.received.length).toBeLessThanOrEqual(3);
    const [d] = await deliveries(hook.id);
    const redeliver = await api("POST", `/api/v1/webhooks/${hook.id}/deliveries/${d?.id}/redeliver`, {
      token: admin.token,
    });
    expect(redeliver.status).toBe(409);
    expect(redeliver.body.code).toBe("WEBHOOK_DISABLED");
  });

  it("never follows a redirect: a 3xx is a failed attempt, retried, and the target is never called", async () => {
    const rx = receiver().start();
    const hook = await subscribe(rx.url("/redirect"), ["event.updated"]);
    await startDispatcher();
    const event = await createEvent(admin.token, { capacity: 3 });
    await updateEvent(event.id, 1);
    await waitFor(async () => ((await deliveries(hook.id))[0]?.attempts ?? 0) >= 3, "three attempts");
    const [d] = await deliveries(hook.id);
    expect(d).toMatchObject({ status: "PENDING", last_response_code: 302 });
    expect(d?.last_error).toContain("redirect");
    expect(rx.received.filter((r) => r.path === "/target")).toHaveLength(0);
    expect(rx.ids("/redirect").size).toBe(1); // one message, the same webhook-id on every attempt
  });

  it("lists deliveries with their outcome, and redelivers one with the same webhook-id", async () => {
    const rx = receiver().start();
    const hook = await subscribe(rx.url("/ok"), ["event.updated", "event.deleted"]);
    await startDispatcher();
    const event = await createEvent(admin.token, { capacity: 3 });
    await updateEvent(event.id, 1);
    expect((await api("DELETE", `/api/v1/events/${event.id}`, { token: admin.token })).status).toBe(204);
    await waitFor(async () => {
      const ds = await deliveries(hook.id);
      return ds.length === 2 && ds.every((d) => d.status === "SUCCEEDED");
    }, "both delivered");
    const ds = await deliveries(hook.id);
    expect(ds.map((d) => d.payload.type)).toEqual(["event.deleted", "event.updated"]); // newest first
    const listed = await api("GET", `/api/v1/webhooks/${hook.id}/deliveries?status=SUCCEEDED&limit=1`, {
      token: admin.token,
    });
    expect(listed.headers.get("x-total-count")).toBe("2");
    expect(listed.body).toHaveLength(1);

    const target = ds[1] as (typeof ds)[number];
    const again = await api("POST", `/api/v1/webhooks/${hook.id}/deliveries/${target.id}/redeliver`, {
      token: admin.token,
    });
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ id: target.id, status: "PENDING", message_id: target.message_id });
    await waitFor(() => rx.received.filter((r) => r.id === target.message_id).length === 2, "the redelivery");
    const copies = rx.received.filter((r) => r.id === target.message_id);
    expect(copies[1]?.body).toBe(copies[0]?.body as string);
    await waitFor(
      async () => (await deliveries(hook.id)).find((d) => d.id === target.id)?.status === "SUCCEEDED",
      "the redelivery recorded",
    );
    expect((await deliveries(hook.id)).find((d) => d.id === target.id)?.attempts).toBe(2);
  });

  it("refuses at delivery time, after resolving the host, an address the SSRF rule forbids", async () => {
    const rx = receiver().start();
    const hook = await subscribe(rx.url("/ok"), ["event.updated"]); // allowed at creation in this process
    await startDispatcher({ WEBHOOK_ALLOW_PRIVATE: "false" });
    const event = await createEvent(admin.token, { capacity: 3 });
    await updateEvent(event.id, 1);
    await waitFor(async () => ((await deliveries(hook.id))[0]?.attempts ?? 0) >= 2, "two refused attempts");
    const [d] = await deliveries(hook.id);
    expect(d?.last_error).toContain("refused: the URL resolves to 127.0.0.1");
    expect(rx.received).toHaveLength(0);
  });

  it("disables a subscription whose deliveries keep failing past WEBHOOK_DISABLE_AFTER_SECONDS, keeping a capped response body", async () => {
    const rx = receiver().start();
    const hook = await subscribe(rx.url("/fail"), ["event.updated"]);
    await startDispatcher({ WEBHOOK_DISABLE_AFTER_SECONDS: "1" });
    const event = await createEvent(admin.token, { capacity: 3 });
    await updateEvent(event.id, 1);
    await waitFor(
      async () => (await api("GET", `/api/v1/webhooks/${hook.id}`, { token: admin.token })).body.active === false,
      "the subscription disabled",
    );
    const sub = (await api("GET", `/api/v1/webhooks/${hook.id}`, { token: admin.token })).body;
    expect(sub.disabled_reason).toMatch(/^every delivery attempt has failed since .* \(last: HTTP 500\)$/);
    const [d] = await deliveries(hook.id);
    expect(d?.status).toBe("FAILED");
    expect(d?.last_response_code).toBe(500);
    expect(d?.last_response_body?.length).toBe(1024);
  });
});
