import type { LoadResult } from "../load-spec";
import { fmt, type Row, skippedRow } from "../report";
import type { BenchContext } from "../setup";
import { peakRssMb, startApiPool } from "../stack";
import { compareLoads, latencySummary, share, timedLoad } from "./common";

const GET_SCENARIO = "cached GET /events/{id}";
const DOWN_SCENARIO = "GET /events/{id}, Redis unreachable";
const MAP_SCENARIO = "seat map GET /events/{id}/seats";

/** Body size: measured by the Bun generator; wrk counts headers too, so then the document's size. */
const bodyBytes = (r: LoadResult, documentBytes: number) =>
  r.generator === "bun" ? r.bytesPerResponse : documentBytes;
const okShare = (r: LoadResult) => (share(r, 200) < 1 ? `, 200: ${fmt.pct(share(r, 200))}` : "");
const summary = (r: LoadResult) => `${fmt.rps(r.rps)} (${latencySummary(r.latencyMs)}${okShare(r)})`;

/**
 * Scenario 2. The event document, read over and over (the cache's best case), against a bare Hono
 * route on the same runtime, served by as many processes with reusePort, measured in alternating
 * rounds (compareLoads): the distance between them is what the API spends per read beyond HTTP
 * itself. Then the same read with Redis unreachable
 * (a second API pool whose REDIS_URL points at a closed port), against the Redis-up figure.
 */
export async function benchEventReads(ctx: BenchContext): Promise<{ rows: Row[]; raw: unknown }> {
  const path = `/api/v1/events/${ctx.events.get}`;
  await fetch(`${ctx.baseUrl}${path}`); // the first read fills the cache
  const compared = await compareLoads(
    ctx,
    { baseUrl: ctx.baseUrl, request: { method: "GET", path } },
    { baseUrl: ctx.hello.baseUrl, request: { method: "GET", path: "/hello" } },
  );
  const { evently: api, reference: hello, ratio } = compared;
  const rows: Row[] = [
    {
      key: "cached_get",
      scenario: GET_SCENARIO,
      evently: summary(api),
      reference: `Hono hello, ${ctx.hello.procs.length} ${ctx.hello.procs.length === 1 ? "process" : "processes"}: ${summary(hello)}`,
      ratio: fmt.ratio(ratio),
      ratioValue: ratio,
    },
  ];
  const raw: Record<string, unknown> = { api, hello, roundRatios: compared.rounds };

  if (!ctx.local) {
    rows.push(skippedRow("get_redis_down", DOWN_SCENARIO, "skipped: needs the local database (--url)"));
    return { rows, raw };
  }
  const down = await startApiPool(
    { ...ctx.local.env, REDIS_URL: "redis://127.0.0.1:1/0", ADMIN_EMAIL: "", ADMIN_PASSWORD: "" },
    ctx.options.apiWorkers,
  );
  try {
    await fetch(`${down.baseUrl}${path}`);
    const outage = await timedLoad(ctx, down.baseUrl, { method: "GET", path });
    const downRatio = outage.rps / api.rps;
    rows.push({
      key: "get_redis_down",
      scenario: DOWN_SCENARIO,
      evently: summary(outage),
      reference: `same GET, Redis up: ${fmt.rps(api.rps)}`,
      ratio: fmt.ratio(downRatio),
      ratioValue: downRatio,
    });
    const peaks = down.children().map((c) => peakRssMb(c.pid) ?? 0);
    raw.redisDown = { ...outage, apiPeakRssMb: Math.max(0, ...peaks) };
  } finally {
    await down.stop();
  }
  return { rows, raw };
}

/**
 * Scenario 4. The seat map of a large event against the hello pool sending the very same bytes
 * from memory: the distance is the cost of building the document, not of moving it.
 */
export async function benchSeatMap(ctx: BenchContext): Promise<{ row: Row; raw: unknown }> {
  const seats = ctx.options.seatMapSeats;
  const scenario = `${MAP_SCENARIO} (${fmt.count(seats)} seats)`;
  if (!ctx.events.seatMap) return { row: skippedRow("seat_map", scenario, "skipped: no seat-map event"), raw: null };
  const compared = await compareLoads(
    ctx,
    { baseUrl: ctx.baseUrl, request: { method: "GET", path: `/api/v1/events/${ctx.events.seatMap}/seats` } },
    { baseUrl: ctx.hello.baseUrl, request: { method: "GET", path: "/blob" } },
  );
  const { evently: api, reference: blob, ratio } = compared;
  return {
    row: {
      key: "seat_map",
      scenario,
      evently: `${summary(api)}, ${fmt.kb(bodyBytes(api, ctx.seatMapBytes))}/response`,
      reference: `Hono, same ${fmt.kb(bodyBytes(blob, ctx.seatMapBytes))} from memory: ${fmt.rps(blob.rps)}`,
      ratio: fmt.ratio(ratio),
      ratioValue: ratio,
    },
    raw: { api, blob, roundRatios: compared.rounds, seatMapBytes: ctx.seatMapBytes },
  };
}
