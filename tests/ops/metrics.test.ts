import { beforeAll, describe, expect, it } from "bun:test";
import { sql } from "../../src/platform/db";
import { waitForRedis } from "../../src/platform/redis";
import { createEvent } from "../support/fixtures";
import { adminToken, api, manyUsers } from "../support/http";
import { freePort, repoRoot, spawnLogged, waitForHttp } from "../support/processes";

let admin: { token: string };
beforeAll(async () => {
  await waitForRedis(5_000);
  admin = await adminToken();
});

/** The value of one series in Prometheus text, 0 when absent. */
function sample(text: string, series: string): number {
  const escaped = series.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`^${escaped} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}
const metrics = async (scope = "process") => (await api("GET", `/metrics?scope=${scope}`)).text;

describe("/metrics", () => {
  it("moves the booking, conflict, cancellation and cache series when those things happen", async () => {
    const event = await createEvent(admin.token, { capacity: 3 });
    const [a, b] = await manyUsers(2, "metrics");
    const before = await metrics();
    const booked = await api("POST", `/api/v1/events/${event.id}/book/1`, { token: a?.token });
    await api("POST", `/api/v1/events/${event.id}/book/1`, { token: b?.token });
    await api("POST", `/api/v1/events/${event.id}/bookings`, { token: b?.token, body: { quantity: 2 } });
    await api("DELETE", `/api/v1/bookings/cancel/${booked.body.booking_id}`, { token: a?.token });
    await api("GET", `/api/v1/events/${event.id}`);
    await api("GET", `/api/v1/events/${event.id}`);
    const after = await metrics();
    const delta = (s: string) => sample(after, s) - sample(before, s);
    expect(delta('evently_bookings_total{path="single"}')).toBe(1);
    expect(delta('evently_bookings_total{path="quantity"}')).toBe(2);
    expect(delta('evently_booking_conflicts_total{code="SEAT_ALREADY_BOOKED"}')).toBe(1);
    expect(delta("evently_cancellations_total")).toBe(1);
    expect(delta('evently_cache_hits_total{namespace="event"}')).toBeGreaterThanOrEqual(1);
    expect(delta('http_requests_total{method="POST",route="/api/v1/events/:id/book/:seat_number",status="409"}')).toBe(
      1,
    );
    for (const name of [
      "http_request_duration_seconds_bucket",
      "evently_outbox_backlog",
      "evently_dead_letters",
      "process_resident_memory_bytes",
    ]) {
      expect(after).toContain(name);
    }
  });

  it("reports waitlist sizes, stream lag and dead letters sampled at scrape time", async () => {
    const event = await createEvent(admin.token, { capacity: 1 });
    const [buyer, w1, w2] = await manyUsers(3, "gauges");
    await api("POST", `/api/v1/events/${event.id}/book/1`, { token: buyer?.token });
    await api("POST", `/api/v1/waitlist/${event.id}`, { token: w1?.token });
    await api("POST", `/api/v1/waitlist/${event.id}`, { token: w2?.token });
    const text = await metrics();
    expect(sample(text, `evently_waitlist_size{event_id="${event.id}"}`)).toBe(2);
    const [{ n } = { n: -1 }] = await sql<{ n: number }[]>`
      select count(*)::int as n from outbox where published_at is null`;
    expect(sample(text, "evently_outbox_backlog")).toBe(n);
  });

  it("sums counters over every API process behind one port", async () => {
    const port = freePort();
    const env = { PORT: String(port), LOG_LEVEL: "warn" };
    const servers = [
      spawnLogged([process.execPath, `${repoRoot}/src/server.ts`], env),
      spawnLogged([process.execPath, `${repoRoot}/src/server.ts`], env),
    ];
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${base}/health`);
      await Bun.sleep(300);
      const event = await createEvent(admin.token, { capacity: 60 });
      const users = await manyUsers(40, "pool");
      const statuses = await Promise.all(
        users.map(async (u, i) => {
          const res = await fetch(`${base}/api/v1/events/${event.id}/book/${i + 1}`, {
            method: "POST",
            headers: { authorization: `Bearer ${u.token}` },
          });
          return res.status;
        }),
      );
      expect(statuses.every((s) => s === 201)).toBe(true);
      // Whichever process answers counts the bookings of both: snapshots are shared every 2 s,
      // so the pool total converges to exactly 40 and never overshoots.
      const series = 'evently_bookings_total{path="single"}';
      const totals: number[] = [];
      for (let i = 0; i < 50 && totals.at(-1) !== 40; i++) {
        if (i > 0) await Bun.sleep(200);
        totals.push(sample(await (await fetch(`${base}/metrics`)).text(), series));
      }
      expect(totals.at(-1)).toBe(40);
      expect(totals.every((n) => n <= 40)).toBe(true);
      const own = sample(await (await fetch(`${base}/metrics?scope=process`)).text(), series);
      expect(own).toBeLessThan(40);
    } finally {
      for (const s of servers) s.proc.kill("SIGKILL");
    }
  }, 60_000);
});
