import { readFileSync } from "node:fs";
import { percentiles } from "../load-spec";
import { fmt, type Row, skippedRow } from "../report";
import { benchClient, createEvent } from "../seed";
import type { BenchContext } from "../setup";
import { openSseSocket, type SocketSubscriber } from "../sse-client";

export const LIVE_BUDGET_MS = 200;
const BOOKING_CONNECTIONS = 50;

/**
 * Scenario 7, live availability: `liveSubscribers` streams of one event (spread over the API
 * processes by reusePort) while its `liveSeats` seats sell out, one best-available booking per
 * request from BOOKING_CONNECTIONS at a time. Latency of a change = when a subscriber's `seats`
 * message naming the seat arrived, minus when the booking's 201 reached its buyer (both clocks
 * are this process's): commit, publish, the Redis stream, the API's fan-out and batching (50 ms)
 * and the subscriber's own parsing, for every (subscriber, seat). Then the API processes' resident
 * set with every stream still open, and whether every subscriber ended with PostgreSQL's state.
 */
export async function benchLive(ctx: BenchContext): Promise<{ rows: Row[]; raw: unknown; checks: Check[] }> {
  const n = ctx.options.liveSubscribers;
  const seats = ctx.options.liveSeats;
  const scenario = `live: change → delivered (${n} subscribers, ${seats} seats sold)`;
  const rssScenario = `RSS, API processes with ${n} live streams`;
  const local = ctx.local;
  if (!local || local.users.length < seats) {
    const why = !local ? "skipped: needs the local stack (--url)" : `n/a (needs ${seats} users)`;
    return {
      rows: [skippedRow("live_latency", scenario, why), skippedRow("rss_api_live", rssScenario, why)],
      raw: null,
      checks: [],
    };
  }
  const eventId = await createEvent(ctx.baseUrl, ctx.adminToken, "live", seats);
  const url = new URL(ctx.baseUrl);
  const port = Number(url.port);
  const path = `/api/v1/events/${eventId}/live`;
  const subs: SocketSubscriber[] = [];
  try {
    for (let i = 0; i < n; i += 100) {
      const batch = Math.min(100, n - i);
      subs.push(
        ...(await Promise.all(
          Array.from({ length: batch }, () => openSseSocket(port, path, url.hostname, benchClient())),
        )),
      );
    }
    const refused = subs.filter((s) => s.status() !== 200).length;
    if (refused > 0) throw new Error(`${refused} of ${n} live streams refused`);
    await until(() => subs.every((s) => s.state.snapshots >= 1), 60_000, "every snapshot");

    const bookedAt = new Float64Array(seats + 1);
    const latencies: number[] = [];
    for (const s of subs) {
      s.onSeats = (changes, at) => {
        for (const [seat, status] of changes) {
          const t0 = bookedAt[seat] ?? 0;
          if (status === "B" && t0 > 0) latencies.push(Math.max(0, at - t0));
        }
      };
    }
    const buyers = local.users.slice(0, seats);
    let next = 0;
    let sold = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: Math.min(BOOKING_CONNECTIONS, buyers.length) }, async () => {
        while (next < buyers.length) {
          const buyer = buyers[next++];
          if (!buyer) return;
          const res = await fetch(`${ctx.baseUrl}/api/v1/events/${eventId}/bookings`, {
            method: "POST",
            headers: { authorization: `Bearer ${buyer.token}`, "content-type": "application/json", ...benchClient() },
            body: JSON.stringify({ quantity: 1 }),
          });
          const at = performance.now();
          const body = (await res.json()) as { bookings?: { seat_number: number }[] };
          if (res.status !== 201) continue;
          sold++;
          for (const b of body.bookings ?? []) bookedAt[b.seat_number] = at;
        }
      }),
    );
    const sellOutMs = performance.now() - started;
    const truth = "B".repeat(seats);
    const converged = await until(() => subs.every((s) => s.state.statuses === truth), 30_000, "").then(
      () => true,
      () => false,
    );
    const regressions = subs.reduce((sum, s) => sum + s.state.bookedToAvailable.length, 0);
    const api = local.stack.children().filter((c) => c.kind === "api");
    const rss = api.map((c) => currentRssMb(c.pid) ?? 0);
    const p = percentiles(latencies);
    const rows: Row[] = [
      {
        key: "live_latency",
        scenario,
        evently: `p50 ${fmt.ms(p.p50)}, p99 ${fmt.ms(p.p99)} (${fmt.count(latencies.length)} deliveries)`,
        reference: `goal: p99 < ${LIVE_BUDGET_MS} ms`,
        ratio: fmt.ratio(p.p99 / LIVE_BUDGET_MS),
        ratioValue: p.p99 / LIVE_BUDGET_MS,
      },
      {
        key: "rss_api_live",
        scenario: `${rssScenario} (${api.length} processes)`,
        evently: `${rss.map((m) => fmt.mb(m)).join(", ")} (sum ${fmt.mb(rss.reduce((a, b) => a + b, 0))})`,
        reference: "—",
        ratio: "—",
      },
    ];
    const checks: Check[] = [
      {
        check: "live: every subscriber ends with PostgreSQL's state",
        ok: sold === seats && converged,
        detail: `${sold}/${seats} sold; ${converged ? "all" : "not all"} ${n} subscribers at the sold-out state`,
      },
      {
        check: "live: no subscriber sees a booked seat become available",
        ok: regressions === 0,
        detail: `${regressions} regressions`,
      },
    ];
    return {
      rows,
      checks,
      raw: { subscribers: n, seats, sold, sellOutMs, percentiles: p, samples: latencies.length, rssMb: rss },
    };
  } finally {
    for (const s of subs) s.close();
  }
}

type Check = { check: string; ok: boolean; detail: string };

function currentRssMb(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return kb ? Number(kb[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}
