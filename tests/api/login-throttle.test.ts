import { beforeAll, describe, expect, it } from "bun:test";
import { config } from "../../src/config";
import { waitForRedis } from "../../src/platform/redis";
import { app, registerAndLogin, uniqueEmail } from "../support/http";
import { runAppInFreshProcess } from "../support/processes";

const MAX = config.LOGIN_MAX_FAILURES;
const PASSWORD = "correct-horse-1"; // registerAndLogin's password
let peers = 0;
/** A fresh, untrusted client address per test, so per-IP counts never leak between tests. */
const newPeer = () => `203.0.113.${++peers}`;
const fromPeer = (address: string) => ({ requestIP: () => ({ address, family: "IPv4", port: 40_000 }) });

async function login(username: string, password: string, peer = "198.51.100.250") {
  const res = await app.request(
    "/api/v1/auth/token",
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username, password }).toString(),
    },
    fromPeer(peer),
  );
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

async function fail(username: string, times: number, peer?: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) statuses.push((await login(username, "wrong-password-9", peer)).status);
  return statuses;
}

beforeAll(async () => {
  expect(await waitForRedis(5_000)).toBe(true);
});

describe("login throttling", () => {
  it("answers 429 with Retry-After once an account has had LOGIN_MAX_FAILURES failures, even for the right password", async () => {
    const user = await registerAndLogin("victim");
    const peer = newPeer();
    expect(await fail(user.email, MAX, peer)).toEqual(Array(MAX).fill(401));

    const blocked = await login(user.email, "wrong-password-9", peer);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get("content-type")).toContain("application/problem+json");
    expect(blocked.body.code).toBe("RATE_LIMITED");
    const retryAfter = Number(blocked.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);

    // Guessing right during the lock-out does not help, from any address.
    expect((await login(user.email, PASSWORD, newPeer())).status).toBe(429);
  });

  it("leaves other accounts alone while one is throttled", async () => {
    const locked = await registerAndLogin("locked");
    const other = await registerAndLogin("bystander");
    const peer = newPeer();
    await fail(locked.email, MAX + 1, peer);
    expect((await login(locked.email, PASSWORD, peer)).status).toBe(429);
    expect((await login(other.email, PASSWORD, peer)).status).toBe(200);
  });

  it("starts an account's count again after a successful login", async () => {
    const user = await registerAndLogin("forgetful");
    const peer = newPeer();
    expect(await fail(user.email, MAX - 1, peer)).toEqual(Array(MAX - 1).fill(401));
    expect((await login(user.email, PASSWORD, peer)).status).toBe(200);
    expect(await fail(user.email, MAX - 1, peer)).toEqual(Array(MAX - 1).fill(401));
    expect((await login(user.email, PASSWORD, peer)).status).toBe(200);
  });

  it("throttles an unknown e-mail exactly like a real one, so a 429 reveals nothing", async () => {
    const real = await registerAndLogin("real");
    const ghost = uniqueEmail("ghost");
    const peer = newPeer();
    await fail(real.email, MAX, peer);
    expect(await fail(ghost, MAX, peer)).toEqual(Array(MAX).fill(401));
    const a = await login(real.email, "wrong-password-9", peer);
    const b = await login(ghost, "wrong-password-9", peer);
    expect([a.status, b.status]).toEqual([429, 429]);
    const shape = (x: Record<string, any>) => ({ ...x, request_id: undefined, detail: undefined });
    expect(shape(a.body)).toEqual(shape(b.body));
  });

  it("throttles one client address after five times the limit across many accounts, and no other address", async () => {
    const peer = newPeer();
    for (let i = 0; i < 5 * MAX; i++) {
      expect((await login(uniqueEmail("spray"), "wrong-password-9", peer)).status).toBe(401);
    }
    const next = await login(uniqueEmail("spray"), "wrong-password-9", peer);
    expect(next.status).toBe(429);
    expect(Number(next.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await login(uniqueEmail("spray"), "wrong-password-9", newPeer())).status).toBe(401);
  });

  it("does not count successful logins against the client address", async () => {
    const user = await registerAndLogin("office");
    const peer = newPeer();
    for (let i = 0; i < 5 * MAX + 5; i++) expect((await login(user.email, PASSWORD, peer)).status).toBe(200);
  });

  it("logs in more people at once from one address than its failure budget, all of them", async () => {
    const people = await Promise.all(Array.from({ length: 5 * MAX + 10 }, (_, i) => registerAndLogin(`crowd-${i}`)));
    const peer = newPeer();
    const results = await Promise.all(people.map((p) => login(p.email, PASSWORD, peer)));
    expect(results.map((r) => r.status)).toEqual(people.map(() => 200));
  });

  it("counts parallel guesses before checking them, so a burst cannot get more than the limit", async () => {
    const user = await registerAndLogin("burst");
    const results = await Promise.all(
      Array.from({ length: 3 * MAX }, () => login(user.email, "wrong-password-9", newPeer())),
    );
    const checked = results.filter((r) => r.status === 401).length;
    expect(checked).toBeLessThanOrEqual(MAX);
    expect(results.filter((r) => r.status === 429).length).toBe(3 * MAX - checked);
  });

  it("still logs people in, unthrottled, when Redis is down", async () => {
    const statuses = await runAppInFreshProcess<number[]>(
      `const post = (path, body) => app.request(path, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const email = "down-" + Date.now() + "@example.test";
      await post("/api/v1/auth/register", { email, password: "${PASSWORD}" });
      const statuses = [];
      for (let i = 0; i < ${MAX + 3}; i++)
        statuses.push((await post("/api/v1/auth/token", { username: email, password: "wrong-password-9" })).status);
      statuses.push((await post("/api/v1/auth/token", { username: email, password: "${PASSWORD}" })).status);
      return statuses;`,
      { REDIS_URL: "redis://127.0.0.1:1/0" },
    );
    expect(statuses).toEqual([...Array(MAX + 3).fill(401), 200]);
  }, 30_000);

  it("throttles guesses of current_password on PATCH /users/me like login failures (issue 13.4)", async () => {
    const user = await registerAndLogin("stolen-token");
    const peer = newPeer();
    const change = (current: string) =>
      app.request(
        "/api/v1/users/me",
        {
          method: "PATCH",
          headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
          body: JSON.stringify({ password: "new-password-77", current_password: current }),
        },
        fromPeer(peer),
      );
    const statuses: number[] = [];
    for (let i = 0; i < MAX + 2; i++) statuses.push((await change(`guess-${i}-password`)).status);
    expect(statuses.slice(0, MAX)).toEqual(Array(MAX).fill(403));
    const refused = await change(PASSWORD);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // The right password is refused too while throttled, and nothing was changed.
    expect((await login(user.email, PASSWORD, newPeer())).status).toBe(429);
  });
});
