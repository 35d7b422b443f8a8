import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { statSync } from "node:fs";
import path from "node:path";
import { createEventlyClient, type EventlyClient, logIn } from "@evently/client";
import type { Browser, Page } from "playwright-core";
import { ensureAdmin } from "../../src/modules/auth/auth.service";
import { ensureDashboardBuilt, launchChromium, screenshotDir } from "../support/browser";
import { type ApiGroup, startApiProcesses } from "../support/processes";

/**
 * The admin dashboard in a real browser (Debian's Chromium through playwright-core) against real
 * API processes, as `bun run start` runs them.
 */
let api: ApiGroup;
let browser: Browser;
let page: Page;
let admin: EventlyClient;
const shots = screenshotDir();
const ADMIN = { email: "browser-admin@example.test", password: "browser-admin-pw-1" };
// Each test file has a database of its own, so plain names cannot collide.
const EVENT_NAME = "Spring Gala";

async function clientFor(email: string, password: string): Promise<EventlyClient> {
  const anonymous = createEventlyClient({ baseUrl: api.url });
  const login = await logIn(anonymous, email, password);
  const token = login.data?.access_token;
  if (!token) throw new Error(`login failed for ${email}`);
  return createEventlyClient({ baseUrl: api.url, token: () => token });
}

async function newUser(label: string): Promise<{ email: string; password: string; client: EventlyClient }> {
  const email = `${label}-${Date.now()}@example.test`;
  const password = "browser-user-pw-1";
  const reg = await createEventlyClient({ baseUrl: api.url }).POST("/api/v1/auth/register", {
    body: { email, password, full_name: label },
  });
  expect(reg.response.status).toBe(201);
  return { email, password, client: await clientFor(email, password) };
}

async function signIn(p: Page, email: string, password: string): Promise<void> {
  await p.goto(`${api.url}/admin`);
  await p.getByLabel("E-mail").fill(email);
  await p.getByLabel("Password").fill(password);
  await p.getByRole("button", { name: "Sign in" }).click();
}

const shot = async (p: Page, name: string, fullPage = false) => {
  const file = path.join(shots, `${name}.png`);
  await p.screenshot({ path: file, fullPage });
  expect(statSync(file).size).toBeGreaterThan(5_000);
};

beforeAll(async () => {
  ensureDashboardBuilt();
  await ensureAdmin(ADMIN.email, ADMIN.password, { resetPassword: false });
  api = await startApiProcesses(2);
  admin = await clientFor(ADMIN.email, ADMIN.password);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await api?.stop();
});

/** A few more events and bookings, so the charts have something to draw. */
async function seedBookings(): Promise<void> {
  const plan: [string, string | null, number, number][] = [
    ["Jazz Night", "Blue Room", 40, 9],
    ["Chamber Quartet", "Blue Room", 20, 6],
    ["Poetry Slam", null, 30, 4],
  ];
  const fans = await Promise.all([newUser("fan-a"), newUser("fan-b"), newUser("fan-c")]);
  for (const [i, [name, venue, capacity, perFan]] of plan.entries()) {
    const created = await admin.POST("/api/v1/events", {
      body: {
        name,
        venue,
        capacity,
        start_time: new Date(Date.now() + (i + 2) * 86_400_000).toISOString(),
      },
    });
    const id = created.data?.id;
    if (!id) throw new Error(`could not create ${name}`);
    for (const fan of fans) {
      const booked = await fan.client.POST("/api/v1/events/{id}/bookings", {
        params: { path: { id } },
        body: { quantity: Math.max(1, perFan - fans.indexOf(fan)) },
      });
      expect(booked.response.status).toBe(201);
    }
  }
}

/** A sold-out event whose freed seat is offered from its waitlist and accepted: a funnel to draw. */
async function seedWaitlist(): Promise<void> {
  const created = await admin.POST("/api/v1/events", {
    body: {
      name: "Sold Out Gala",
      venue: "Blue Room",
      capacity: 1,
      start_time: new Date(Date.now() + 5 * 86_400_000).toISOString(),
    },
  });
  const id = created.data?.id;
  if (!id) throw new Error("could not create the sold-out event");
  const [buyer, waiter] = await Promise.all([newUser("gala-buyer"), newUser("gala-waiter")]);
  const booked = await buyer.client.POST("/api/v1/events/{id}/book/{seat_number}", {
    params: { path: { id, seat_number: 1 } },
  });
  const bookingId = booked.data?.booking_id;
  if (!bookingId) throw new Error("could not book the gala");
  const joined = await waiter.client.POST("/api/v1/waitlist/{event_id}", {
    params: { path: { event_id: id } },
    body: { party_size: 1 },
  });
  expect(joined.response.status).toBe(201);
  await buyer.client.DELETE("/api/v1/bookings/cancel/{id}", { params: { path: { id: bookingId } } });
  const offer = (await waiter.client.GET("/api/v1/waitlist/offers")).data?.[0];
  if (!offer) throw new Error("no offer after the cancel");
  const accepted = await waiter.client.POST("/api/v1/waitlist/offers/{offer_id}/accept", {
    params: { path: { offer_id: offer.offer_id } },
  });
  expect(accepted.response.status).toBe(201);
}

describe("the admin dashboard in Chromium", () => {
  it("signs an admin in and lists an event created with its form", async () => {
    const outside: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(api.url) && !r.url().startsWith("data:")) outside.push(r.url());
    });
    await page.goto(`${api.url}/admin`);
    await shot(page, "sign-in");
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.getByRole("heading", { name: "Events" }).waitFor();

    await page.getByRole("link", { name: "New event" }).click();
    await page.getByLabel("Name").fill(EVENT_NAME);
    await page.getByLabel("Venue").fill("Glass Pavilion");
    await page.getByLabel("Starts").fill("2031-05-20T19:30");
    await page.getByLabel("Capacity (seats)").fill("24");
    await page.getByRole("button", { name: "Create event" }).click();
    await page.getByRole("heading", { name: EVENT_NAME }).waitFor();

    await page.getByRole("link", { name: "Events", exact: true }).click();
    const row = page.getByRole("row").filter({ hasText: EVENT_NAME });
    await row.waitFor();
    expect(await row.textContent()).toContain("Glass Pavilion");
    expect(await row.textContent()).toContain("24");
    await shot(page, "events");
    expect(outside).toEqual([]);
  }, 30_000);

  it("turns a seat booked on the open seat map when it is booked through the API, without a reload", async () => {
    const listed = await admin.GET("/api/v1/events", { params: { query: { name: EVENT_NAME } } });
    const event = listed.data?.[0];
    if (!event) throw new Error("the event made in the form is not listed by the API");
    await page.goto(`${api.url}/admin#/events/${event.id}`);
    const seat = (n: number) => page.locator(`[data-seat="${n}"]`);
    await seat(7).waitFor();
    expect(await seat(7).getAttribute("data-status")).toBe("available");
    // The seat map follows the live stream (Server-Sent Events), not polling.
    await page.locator('[data-testid="feed-mode"][data-mode="live"]').waitFor();
    await page.evaluate(() => {
      (globalThis as unknown as { notReloaded: boolean }).notReloaded = true;
    });

    const fan = await newUser("fan");
    const booked = await fan.client.POST("/api/v1/events/{id}/book/{seat_number}", {
      params: { path: { id: event.id, seat_number: 7 } },
    });
    expect(booked.response.status).toBe(201);
    await page.locator('[data-seat="7"][data-status="booked"]').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await page.getByRole("cell", { name: fan.email }).waitFor({ timeout: 10_000 });
    expect(await page.getByTestId("seat-counts").textContent()).toContain("23 available, 0 held, 1 booked of 24");
    await shot(page, "event-seat-map", true);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await seat(7).waitFor();
    await shot(page, "event-seat-map-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  }, 30_000);

  it("falls back to polling seat-status when the live stream is refused, and still updates the map", async () => {
    const listed = await admin.GET("/api/v1/events", { params: { query: { name: EVENT_NAME } } });
    const event = listed.data?.[0];
    if (!event) throw new Error("the event made in the form is not listed by the API");
    await page.route("**/live", (route) =>
      route.fulfill({ status: 503, contentType: "application/problem+json", body: '{"code":"SERVICE_UNAVAILABLE"}' }),
    );
    try {
      await page.goto(`${api.url}/admin#/events/${event.id}`);
      await page.reload(); // the same URL as before: load the page again, under the route
      await page.locator('[data-testid="feed-mode"][data-mode="polling"]').waitFor({ timeout: 10_000 });
      const fan = await newUser("fan-polled");
      const booked = await fan.client.POST("/api/v1/events/{id}/book/{seat_number}", {
        params: { path: { id: event.id, seat_number: 9 } },
      });
      expect(booked.response.status).toBe(201);
      await page.locator('[data-seat="9"][data-status="booked"]').waitFor({ timeout: 10_000 });
    } finally {
      await page.unroute("**/live");
    }
  }, 30_000);

  it("draws the analytics charts with the numbers the analytics API returns", async () => {
    await seedBookings();
    await seedWaitlist();
    const funnel = (await admin.GET("/api/v1/analytics/waitlist-funnel")).data;
    const fetchFigures = async () => ({
      popular: (await admin.GET("/api/v1/analytics/popular-events", { params: { query: { limit: 10 } } })).data,
      utilization: (await admin.GET("/api/v1/analytics/capacity-utilization")).data,
      venues: (await admin.GET("/api/v1/analytics/venue-analytics")).data,
      trends: (await admin.GET("/api/v1/analytics/booking-trends", { params: { query: { days: 30 } } })).data,
    });
    const before = await fetchFigures();
    await page.goto(`${api.url}/admin#/analytics`);
    await page.locator("canvas").first().waitFor();
    // The tables sit in a closed <details>: present, not visible.
    await page.locator('table[data-chart="popular-events"] tbody tr').first().waitFor({ state: "attached" });
    const table = (id: string) =>
      page.$$eval(`table[data-chart="${id}"] tbody tr`, (rows) =>
        rows.map((r) => [r.querySelector("th")?.textContent ?? "", Number(r.querySelector("td")?.dataset.value)]),
      );
    const shown = {
      popular: await table("popular-events"),
      utilization: await table("utilization-by-event"),
      venues: await table("utilization-by-venue"),
      trends: await table("bookings-per-day"),
    };
    const expected = (f: Awaited<ReturnType<typeof fetchFigures>>) => ({
      popular: f.popular?.map((p) => [p.event_name, p.total_bookings]),
      utilization: f.utilization?.map((u) => [u.event_name, u.utilization_percentage]),
      venues: f.venues?.map((v) => [v.venue ?? "(no venue)", v.average_utilization]),
      trends: f.trends?.map((t) => [t.date, t.total_bookings]),
    });
    // Analytics are cached for 15 s: the page matches the answer from before it loaded, or after.
    const candidates = [expected(before), expected(await fetchFigures())];
    expect(candidates.some((c) => JSON.stringify(c) === JSON.stringify(shown))).toBe(true);
    expect(shown.popular.some(([name]) => name === EVENT_NAME)).toBe(true);
    // The funnel is not cached: the page shows exactly what the API answered.
    expect(funnel?.accepted).toBeGreaterThanOrEqual(1);
    expect(await table("waitlist-funnel")).toEqual([
      ["Joined", funnel?.joined],
      ["Offered", funnel?.offered],
      ["Accepted", funnel?.accepted],
      ["Declined", funnel?.declined],
      ["Expired", funnel?.expired],
    ]);
    expect(await page.getByTestId("funnel-rates").textContent()).toContain(
      `${Math.round((funnel?.conversion_rate ?? 0) * 1000) / 10}%`,
    );
    expect(await page.locator("canvas").count()).toBe(5);
    await shot(page, "analytics", true);
  }, 30_000);

  it("refuses a signed-in user who is not an admin", async () => {
    const user = await newUser("not-admin");
    const context = await browser.newContext();
    const other = await context.newPage();
    try {
      await signIn(other, user.email, user.password);
      const alert = other.getByRole("alert");
      await alert.waitFor();
      expect(await alert.textContent()).toContain("not an admin");
      expect(
        await other.evaluate(() => (globalThis as unknown as { sessionStorage: Storage }).sessionStorage.length),
      ).toBe(0);
      expect(await other.getByRole("heading", { name: "Events" }).count()).toBe(0);
    } finally {
      await context.close();
    }
  }, 30_000);

  it("signs in from Swagger UI's Authorize with e-mail and password (the OAuth2 password flow)", async () => {
    const docs = await browser.newPage();
    try {
      await docs.goto(`${api.url}/swagger`);
      await docs.locator("button.authorize").first().click();
      await docs.locator("#oauth_username").fill(ADMIN.email);
      await docs.locator("#oauth_password").fill(ADMIN.password);
      const oauth = docs.locator(".auth-container").filter({ has: docs.locator("#oauth_username") });
      await oauth.locator("button.authorize").click();
      // Once signed in, the form's inputs give way to "Authorized" and a Logout button.
      await docs.getByText("Authorized", { exact: true }).waitFor();
      // The token Swagger UI got works as a bearer token.
      const token = await docs.evaluate(
        () => (globalThis as any).ui.authSelectors.authorized().toJS().oauth2Password.token.access_token as string,
      );
      const me = await fetch(`${api.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(await me.json()).toMatchObject({ email: ADMIN.email, is_admin: true });
    } finally {
      await docs.close();
    }
  }, 30_000);
});
