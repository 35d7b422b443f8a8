import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { createEvent } from "../support/fixtures";
import { type Gateway, startGateway } from "../support/gateway";
import { adminToken, registerAndLogin } from "../support/http";
import { type ApiGroup, startApiProcesses } from "../support/processes";
import { openSse, type SseClient } from "../support/sse";
import { testEnv } from "../support/test-env";

// The live stream through the real nginx rules (nginx/): unbuffered, heartbeats pass, a booking
// reaches the subscriber at once, and nginx's per-address stream cap answers problem+json 429.
let group: ApiGroup;
let gateway: Gateway;
let admin: { token: string; id: number };
const clients: SseClient[] = [];

beforeAll(async () => {
  [group, admin] = await Promise.all([
    startApiProcesses(2, {
      REDIS_KEY_PREFIX: testEnv.REDIS_KEY_PREFIX as string,
      LIVE_HEARTBEAT_MS: "500",
      LIVE_MAX_CONNECTIONS_PER_IP: "1000",
    }),
    adminToken(),
  ]);
  gateway = await startGateway(group.port);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await gateway?.stop();
  await group?.stop();
});

describe("GET /events/{id}/live through nginx", () => {
  it("streams without buffering: snapshot, heartbeats, and a booking's change within a second", async () => {
    const event = await createEvent(admin.token, { capacity: 4 });
    const buyer = await registerAndLogin("gw-live");
    const c = await openSse(`${gateway.url}/api/v1/events/${event.id}/live`);
    clients.push(c);
    expect(c.status).toBe(200);
    expect(c.headers.get("content-type")).toStartWith("text/event-stream");
    expect(c.headers.get("content-encoding")).toBeNull();
    await c.waitFor((m) => m.event === "snapshot", "snapshot through nginx");
    const before = c.comments.length;
    await c.waitFor(() => false, "nothing", 1_500).catch(() => undefined);
    expect(c.comments.length).toBeGreaterThan(before); // heartbeats arrive one by one
    const started = performance.now();
    const res = await fetch(`${gateway.url}/api/v1/events/${event.id}/book/3`, {
      method: "POST",
      headers: { authorization: `Bearer ${buyer.token}` },
    });
    expect(res.status).toBe(201);
    await c.waitFor(
      (m) =>
        m.event === "seats" &&
        (JSON.parse(m.data).changes as [number, string][]).some(([s, st]) => s === 3 && st === "B"),
      "seat 3 booked, through nginx",
      5_000,
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    c.close();
  }, 60_000);

  it("refuses a 21st stream from one address with problem+json 429 (limit_conn)", async () => {
    const event = await createEvent(admin.token, { capacity: 2 });
    const url = `${gateway.url}/api/v1/events/${event.id}/live`;
    await Bun.sleep(1_000); // the previous test's stream is gone, the request budget refilled
    const open: SseClient[] = [];
    for (let i = 0; i < 20; i++) {
      open.push(await openSse(url));
      await Bun.sleep(100); // within limit_req's 15 r/s: only limit_conn may refuse
    }
    clients.push(...open);
    expect(open.map((c) => c.status)).toEqual(Array(20).fill(200));
    const refused = await fetch(url);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(((await refused.json()) as { code: string }).code).toBe("RATE_LIMITED");
    for (const c of open) c.close();
  }, 60_000);
});
