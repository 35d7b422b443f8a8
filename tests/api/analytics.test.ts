import { beforeAll, describe, expect, it } from "bun:test";
import { invalidate } from "../../src/cache/cache";
import { analyticsScope } from "../../src/cache/scopes";
import { signAccessToken } from "../../src/http/tokens";
import { waitForRedis } from "../../src/platform/redis";
import { bookOneMore, buildDataSet, type DataSet, dayFrom } from "../support/analytics-data";
import { adminToken, api } from "../support/http";
import { runAppInFreshProcess } from "../support/processes";

/** Expected figures for the data set in tests/support/analytics-data.ts, worked out by hand. */
let data: DataSet;
let admin: string;
let alice: string;
const A = "/api/v1/analytics";

const get = (path: string, token = admin) => api("GET", `${A}${path}`, { token });

const event = (key: keyof DataSet["events"]) => data.events[key];

beforeAll(async () => {
  await waitForRedis(5_000);
  data = await buildDataSet();
  admin = (await adminToken()).token;
  alice = await signAccessToken({ id: data.users.alice.id, tokenVersion: 0 });
});

const popular = () =>
  [
    { event: event("E1"), venue: "Arena", total_bookings: 4, capacity: 4, utilization_percentage: 100 },
    { event: event("E6"), venue: "Library", total_bookings: 4, capacity: 5, utilization_percentage: 80 },
    { event: event("E2"), venue: "Arena", total_bookings: 3, capacity: 10, utilization_percentage: 30 },
    { event: event("E3"), venue: "Library", total_bookings: 2, capacity: 3, utilization_percentage: 66.67 },
    { event: event("E4"), venue: null, total_bookings: 0, capacity: 5, utilization_percentage: 0 },
  ].map(({ event: e, ...rest }) => ({ event_id: e.id, event_name: e.name, ...rest }));

const capacity = () =>
  [
    { key: "E1", venue: "Arena", total_capacity: 4, booked: 4, pct: 100, status: "Full" },
    { key: "E6", venue: "Library", total_capacity: 5, booked: 4, pct: 80, status: "High" },
    { key: "E3", venue: "Library", total_capacity: 3, booked: 2, pct: 66.67, status: "Medium" },
    { key: "E2", venue: "Arena", total_capacity: 10, booked: 3, pct: 30, status: "Low" },
    { key: "E4", venue: null, total_capacity: 5, booked: 0, pct: 0, status: "Low" },
  ].map((r) => ({
    event_id: event(r.key as "E1").id,
    event_name: event(r.key as "E1").name,
    venue: r.venue,
    total_capacity: r.total_capacity,
    booked_seats: r.booked,
    available_seats: r.total_capacity - r.booked,
    utilization_percentage: r.pct,
    status: r.status,
  }));

// BOOKED bookings by creation day (E5's booking counts although E5 is deleted; E2's from day -40 is
// outside 30 days); [day, total_bookings, events_count].
const BOOKED_BY_DAY: [number, number, number][] = [
  [0, 3, 3],
  [-1, 2, 2],
  [-2, 2, 1],
  [-3, 2, 2],
  [-4, 3, 1],
  [-5, 1, 1],
  [-40, 1, 1],
];

const trends = (days: number) =>
  Array.from({ length: days }, (_, i) => {
    const offset = i - days + 1;
    const [, total, events] = BOOKED_BY_DAY.find(([d]) => d === offset) ?? [offset, 0, 0];
    return { date: dayFrom(data.today, offset), total_bookings: total, events_count: events };
  });

const totals = { total_bookings: 13, total_events: 5, total_users: 5, average_capacity_utilization: 55.33 };

describe("analytics", () => {
  it("summarises live events, BOOKED bookings and users, with the time of computation", async () => {
    const before = Date.now();
    const res = await get("/summary");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    const { last_updated, ...figures } = res.body;
    expect(figures).toEqual(totals);
    expect(Date.parse(last_updated)).toBeGreaterThanOrEqual(before - 1_000);
  });

  it("ranks popular events by BOOKED bookings, ties by id, and honours limit", async () => {
    expect((await get("/popular-events")).body).toEqual(popular());
    expect((await get("/popular-events?limit=2")).body).toEqual(popular().slice(0, 2));
  });

  it("reports capacity utilization per live event with its status, most utilized first", async () => {
    const res = await get("/capacity-utilization");
    expect(res.status).toBe(200);
    expect(res.body).toEqual(capacity());
  });

  it("gives one row per day, zeros included, counting bookings of deleted events too", async () => {
    const month = await get("/booking-trends");
    expect(month.body).toEqual(trends(30));
    expect(month.body.at(-1).date).toBe(data.today);
    expect((await get("/booking-trends?days=7")).body).toEqual(trends(7));
    expect((await get("/booking-trends?days=1")).body).toEqual([
      { date: data.today, total_bookings: 3, events_count: 3 },
    ]);
    const year = (await get("/booking-trends?days=365")).body;
    expect(year).toHaveLength(365);
    expect(year.reduce((sum: number, d: { total_bookings: number }) => sum + d.total_bookings, 0)).toBe(14);
  });

  it("groups live events by venue", async () => {
    expect((await get("/venue-analytics")).body).toEqual([
      { venue: "Arena", total_events: 2, total_bookings: 7, average_utilization: 65, most_popular_event: "Rock Night" },
      {
        venue: "Library",
        total_events: 2,
        total_bookings: 6,
        average_utilization: 73.33,
        most_popular_event: "Big Gig",
      },
      { venue: null, total_events: 1, total_bookings: 0, average_utilization: 0, most_popular_event: null },
    ]);
  });

  it("counts a user's bookings over deleted events and cancellations too", async () => {
    const stats = async (name: keyof DataSet["users"]) => (await get(`/user-stats/${data.users[name].id}`)).body;
    const user = (name: keyof DataSet["users"]) => ({
      user_id: data.users[name].id,
      user_email: data.users[name].email,
    });
    expect(await stats("alice")).toEqual({
      ...user("alice"),
      total_bookings: 6,
      active_bookings: 5,
      cancelled_bookings: 1,
      most_booked_venue: "Arena",
    });
    expect(await stats("bob")).toEqual({
      ...user("bob"),
      total_bookings: 5,
      active_bookings: 4,
      cancelled_bookings: 1,
      most_booked_venue: "Arena",
    });
    expect(await stats("carol")).toEqual({
      ...user("carol"),
      total_bookings: 6,
      active_bookings: 5,
      cancelled_bookings: 1,
      most_booked_venue: "Library",
    });
    expect(await stats("erin")).toEqual({
      ...user("erin"),
      total_bookings: 0,
      active_bookings: 0,
      cancelled_bookings: 0,
      most_booked_venue: null,
    });
  });

  it("answers 404 for a missing or deleted user", async () => {
    for (const id of [data.users.dave.id, 987654]) {
      const res = await get(`/user-stats/${id}`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe("USER_NOT_FOUND");
    }
  });

  it("gives any signed-in user their own stats", async () => {
    const res = await get("/my-stats", alice);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ user_id: data.users.alice.id, total_bookings: 6, active_bookings: 5 });
  });

  it("builds the overview from the same figures as the other endpoints", async () => {
    const res = await get("/overview");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ...totals,
      most_popular_events: popular(),
      capacity_utilization: capacity(),
      booking_trends: trends(30),
    });
  });

  it("answers 401 without a token and 403 to a non-admin, except my-stats", async () => {
    const adminOnly = [
      "/overview",
      "/popular-events",
      "/capacity-utilization",
      "/booking-trends",
      `/user-stats/${data.users.bob.id}`,
      "/venue-analytics",
      "/summary",
    ];
    for (const path of [...adminOnly, "/my-stats"]) {
      const res = await api("GET", `${A}${path}`);
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    }
    for (const path of adminOnly) {
      const res = await get(path, alice);
      expect(res.status).toBe(403);
      expect(res.body.code).toBe("FORBIDDEN");
    }
  });

  it("refuses out-of-range or non-numeric parameters with a 422 problem", async () => {
    const cases: [string, string][] = [
      ["/popular-events?limit=0", "query.limit"],
      ["/popular-events?limit=51", "query.limit"],
      ["/popular-events?limit=100000", "query.limit"],
      ["/popular-events?limit=abc", "query.limit"],
      ["/popular-events?limit=2.5", "query.limit"],
      ["/booking-trends?days=0", "query.days"],
      ["/booking-trends?days=366", "query.days"],
      ["/booking-trends?days=-3", "query.days"],
      ["/booking-trends?days=abc", "query.days"],
      ["/user-stats/abc", "param.user_id"],
      ["/user-stats/0", "param.user_id"],
    ];
    for (const [path, field] of cases) {
      const res = await get(path);
      expect(res.status).toBe(422);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    }
  });

  it("documents every analytics response schema in OpenAPI", async () => {
    const doc = (await api("GET", "/openapi.json")).body;
    for (const name of ["AnalyticsOverview", "PopularEvent", "CapacityUtilization", "BookingTrend", "UserStats"]) {
      expect(doc.components.schemas[name]).toBeDefined();
    }
    expect(doc.components.schemas.VenueAnalytics.required).toContain("most_popular_event");
    const popularParams = doc.paths["/api/v1/analytics/popular-events"].get.parameters;
    expect(popularParams[0]).toMatchObject({ name: "limit", in: "query" });
  });

  it("counts cache hits by namespace in /metrics", async () => {
    await get("/venue-analytics");
    const metrics = await api("GET", "/metrics");
    expect(metrics.text).toMatch(/evently_cache_hits_total\{namespace="analytics"\} [1-9]/);
    expect(metrics.text).toMatch(/evently_cache_misses_total\{namespace="analytics"\} [1-9]/);
  });

  it("answers from PostgreSQL, correctly, when Redis is unreachable", async () => {
    type Answer = { status: number; ms: number; body: any };
    const [summary, week] = await runAppInFreshProcess<[Answer, Answer]>(
      `const out = [];
      for (const path of ["/summary", "/booking-trends?days=7"]) {
        const t = performance.now();
        const res = await app.request("${A}" + path, { headers: { authorization: "Bearer ${admin}" } });
        out.push({ status: res.status, ms: performance.now() - t, body: await res.json() });
      }
      return out;`,
      { REDIS_URL: "redis://127.0.0.1:1/0" },
    );
    expect(summary.status).toBe(200);
    const { last_updated: _, ...figures } = summary.body;
    expect(figures).toEqual(totals);
    expect(week.body).toEqual(trends(7));
    // Generous bound: a Redis wait (timeouts, reconnects) would show up as seconds.
    expect(week.ms).toBeLessThan(2_000);
  });

  // Last: it changes the data set.
  it("serves cached figures until they expire or the analytics scope is invalidated", async () => {
    const first = (await get("/summary")).body;
    await bookOneMore(data);
    const cached = (await get("/summary")).body;
    expect(cached).toEqual(first);
    await invalidate(analyticsScope);
    const fresh = (await get("/summary")).body;
    expect(fresh.total_bookings).toBe(totals.total_bookings + 1);
    expect(fresh.last_updated >= first.last_updated).toBe(true);
  });
});
