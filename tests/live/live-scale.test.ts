import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { sql } from "../../src/platform/db";
import { createEvent, seatInvariants } from "../support/fixtures";
import { adminToken, manyUsers } from "../support/http";
import { type ApiGroup, startApiProcesses } from "../support/processes";
import { openSseSocket, type SocketSubscriber } from "../support/sse";
import { testEnv } from "../support/test-env";
import { waitFor } from "../support/wait";

// 1,000 subscribers of one event spread over two API processes (reusePort shares connections
// between them) while 500 seats sell out through both: everyone ends with PostgreSQL's state, and
// nobody is ever shown a booked seat becoming available (there is no cancel in this sale).
const SUBSCRIBERS = 1_000;
const SEATS = 500;
const BUYERS = 600;

let group: ApiGroup;
let admin: { token: string; id: number };
const subs: SocketSubscriber[] = [];

beforeAll(async () => {
  [group, admin] = await Promise.all([
    startApiProcesses(2, {
      REDIS_KEY_PREFIX: testEnv.REDIS_KEY_PREFIX as string,
      LIVE_MAX_CONNECTIONS_PER_IP: String(SUBSCRIBERS * 2),
      DB_POOL_SIZE: "10",
    }),
    adminToken(),
  ]);
});
afterAll(async () => {
  for (const s of subs) s.close();
  await group?.stop();
});

async function pgStatuses(eventId: number): Promise<string> {
  const [row] = await sql<{ s: string }[]>`
    select string_agg(case status when 'AVAILABLE' then 'A' when 'HELD' then 'H' else 'B' end, '' order by seat_number) as s
    from seats where event_id = ${eventId}`;
  return row?.s ?? "";
}

describe("live availability at scale", () => {
  it("1,000 subscribers over two processes all end with PostgreSQL's state during a 500-seat sell-out", async () => {
    const event = await createEvent(admin.token, { capacity: SEATS });
    const buyers = await manyUsers(BUYERS, "live-scale");
    const path = `/api/v1/events/${event.id}/live`;
    for (let i = 0; i < SUBSCRIBERS; i += 100) {
      subs.push(...(await Promise.all(Array.from({ length: 100 }, () => openSseSocket(group.port, path)))));
    }
    expect(subs.every((s) => s.status() === 200)).toBe(true);
    await waitFor(() => subs.every((s) => s.state.snapshots === 1), "every snapshot", 60_000);

    // 600 buyers for 500 seats, best available, 50 at a time, through both processes.
    const latencies: number[] = [];
    const bookedAt = new Map<number, number>();
    for (const s of subs.slice(0, 200)) {
      s.onSeats = (changes, at) => {
        for (const [seat, status] of changes) {
          const t0 = bookedAt.get(seat);
          if (status === "B" && t0 !== undefined) latencies.push(at - t0);
        }
      };
    }
    let next = 0;
    let sold = 0;
    const worker = async () => {
      while (next < buyers.length) {
        const buyer = buyers[next++];
        if (!buyer) return;
        const res = await fetch(`${group.url}/api/v1/events/${event.id}/bookings`, {
          method: "POST",
          headers: { authorization: `Bearer ${buyer.token}`, "content-type": "application/json" },
          body: JSON.stringify({ quantity: 1 }),
        });
        const body = (await res.json()) as { bookings?: { seat_number: number }[] };
        if (res.status === 201) {
          sold++;
          for (const b of body.bookings ?? []) bookedAt.set(b.seat_number, performance.now());
        } else expect(res.status).toBe(409);
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    expect(sold).toBe(SEATS);
    const inv = await seatInvariants(event.id);
    expect(inv.booked).toBe(SEATS);
    expect(inv.seatsBookedTwice).toBe(0);

    const truth = await pgStatuses(event.id);
    expect(truth).toBe("B".repeat(SEATS));
    await waitFor(
      () => subs.every((s) => s.state.statuses === truth),
      "every subscriber at PostgreSQL's state",
      60_000,
    );
    for (const s of subs) {
      expect(s.state.bookedToAvailable).toEqual([]);
      expect(s.state.staleVersions).toBe(0);
      expect(s.state.snapshots).toBe(1);
    }

    // Both processes served subscribers (reusePort spreads connections over them).
    await waitFor(async () => {
      const metrics = await (await fetch(`${group.metricsUrl}/metrics`)).text();
      const line = metrics.split("\n").find((l) => l.startsWith("evently_live_connections"));
      return Number(line?.split(" ").pop()) === SUBSCRIBERS;
    }, "the pool's metrics to count every stream");
    const servedBy = new Set(
      group.procs.flatMap((p) =>
        p.lines.filter((l) => l.route === "/api/v1/events/:id/live" && l.status === 200).map((l) => l.pid),
      ),
    );
    expect(servedBy.size).toBe(2);

    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
    process.stdout.write(
      `live: ${SUBSCRIBERS} subscribers, ${SEATS} seats sold; change -> delivered p50 ${pct(50)?.toFixed(1)} ms, p99 ${pct(99)?.toFixed(1)} ms (${latencies.length} samples)\n`,
    );
  }, 300_000);
});
