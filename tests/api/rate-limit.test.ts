import { beforeAll, describe, expect, it } from "bun:test";
import { Hono } from "hono";
import { parseConfig } from "../../src/config";
import { handleError } from "../../src/http/error-handler";
import { limitSubject, parseTrustedProxies, resolveClientIp, UNKNOWN_CLIENT } from "../../src/http/ip-address";
import { createRateLimiter, policiesFromConfig, type RateLimiterOptions } from "../../src/http/rate-limit";
import type { AppEnv } from "../../src/http/router";
import { waitForRedis } from "../../src/platform/redis";

describe("client address", () => {
  const trusted = parseTrustedProxies(["127.0.0.1", "10.0.0.0/8", "fd00::/8"]);

  it("uses the TCP peer and ignores X-Forwarded-For when the peer is not a trusted proxy", () => {
    expect(resolveClientIp("203.0.113.5", "1.2.3.4", trusted)).toBe("203.0.113.5");
  });

  it("believes X-Forwarded-For from a trusted proxy, taking the right-most untrusted hop", () => {
    // The client claims 6.6.6.6; our proxy appended the address it really saw.
    expect(resolveClientIp("127.0.0.1", "6.6.6.6, 198.51.100.7", trusted)).toBe("198.51.100.7");
    expect(resolveClientIp("10.1.2.3", "198.51.100.7, 10.9.9.9", trusted)).toBe("198.51.100.7");
  });

  it("matches CIDR ranges, IPv6 and IPv4-mapped peers", () => {
    expect(resolveClientIp("10.200.0.1", "198.51.100.8", trusted)).toBe("198.51.100.8");
    expect(resolveClientIp("fd00::1", "2001:db8::5", trusted)).toBe("2001:db8::5");
    expect(resolveClientIp("::ffff:10.0.0.2", "198.51.100.9", trusted)).toBe("198.51.100.9");
    expect(resolveClientIp("11.0.0.1", "198.51.100.9", trusted)).toBe("11.0.0.1");
  });

  it("stops at garbage in X-Forwarded-For instead of believing what is left of it", () => {
    expect(resolveClientIp("127.0.0.1", "6.6.6.6, not-an-ip", trusted)).toBe("127.0.0.1");
    expect(resolveClientIp("127.0.0.1", "[2001:db8::9]:443", trusted)).toBe("2001:db8::9");
  });

  it("treats a request without a socket as one unknown client", () => {
    expect(resolveClientIp(undefined, "1.2.3.4", trusted)).toBe(UNKNOWN_CLIENT);
  });

  it("counts an IPv6 client by its /64 and an IPv4-mapped one as IPv4", () => {
    expect(limitSubject("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(limitSubject("2001:db8:1:2:bbbb:cccc:dddd:eeee")).toBe("2001:db8:1:2::/64");
    expect(limitSubject("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(limitSubject("::1")).toBe("0:0:0:0::/64");
    expect(limitSubject("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(limitSubject("192.0.2.1")).toBe("192.0.2.1");
  });

  it("refuses a TRUSTED_PROXIES entry that is not an address or CIDR at start-up", () => {
    expect(() => parseConfig({ TRUSTED_PROXIES: "10.0.0.0/8,proxy.local" })).toThrow(/TRUSTED_PROXIES/);
    expect(() => parseConfig({ TRUSTED_PROXIES: "10.0.0.0/33" })).toThrow(/TRUSTED_PROXIES/);
    expect(parseConfig({ TRUSTED_PROXIES: "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8" }).TRUSTED_PROXIES).toHaveLength(4);
  });
});

let apps = 0;
/** A bare app behind the limiter, with buckets of its own (names are unique per app). */
function limitedApp(overrides: Partial<RateLimiterOptions> = {}) {
  const n = ++apps;
  const app = new Hono<AppEnv>();
  app.use(
    createRateLimiter({
      enabled: true,
      general: { name: `t${n}`, rps: 1, burst: 4 },
      auth: { name: `t${n}-auth`, rps: 1, burst: 1 },
      ...overrides,
    }),
  );
  app.all("*", (c) => c.text("ok"));
  app.onError(handleError);
  return app;
}

/** What Bun.serve hands to fetch as its second argument: enough for getConnInfo. */
const fromPeer = (address: string) => ({ requestIP: () => ({ address, family: "IPv4", port: 40_000 }) });

describe("application rate limiter (in-process, real Redis)", () => {
  // Until the client is connected the limiter lets everything through (see fail-open tests).
  beforeAll(async () => {
    expect(await waitForRedis(5_000)).toBe(true);
  });

  it("counts X-RateLimit-Remaining down and then answers 429 problem+json with Retry-After", async () => {
    const app = limitedApp();
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await app.request("/anything", {}, fromPeer("198.51.100.1"));
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ratelimit-limit")).toBe("5");
      expect(Number(res.headers.get("x-ratelimit-reset"))).toBeGreaterThan(0);
      remaining.push(res.headers.get("x-ratelimit-remaining") as string);
    }
    // Refill is 1 per second, so at most one step can repeat on a slow machine.
    expect(Number(remaining[0])).toBe(4);
    expect(Number(remaining[4])).toBeLessThanOrEqual(1);
    for (let i = 1; i < remaining.length; i++)
      expect(Number(remaining[i])).toBeLessThanOrEqual(Number(remaining[i - 1]));

    let refused: Response | undefined;
    for (let i = 0; i < 3 && !refused; i++) {
      const res = await app.request("/anything", {}, fromPeer("198.51.100.1"));
      if (res.status === 429) refused = res;
    }
    expect(refused).toBeDefined();
    expect(refused?.headers.get("content-type")).toContain("application/problem+json");
    expect(Number(refused?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(refused?.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(((await refused?.json()) as { code?: string } | undefined)?.code).toBe("RATE_LIMITED");
  });

  it("keeps a separate, stricter budget for login and register", async () => {
    const app = limitedApp();
    const peer = fromPeer("198.51.100.2");
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await app.request("/api/v1/auth/token", { method: "POST" }, peer)).status);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(3);
    expect(statuses).toContain(429);
    // The general budget of the same client is untouched.
    const other = await app.request("/api/v1/events/", {}, peer);
    expect(other.status).toBe(200);
    expect(other.headers.get("x-ratelimit-remaining")).toBe("4");
  });

  // /metrics is not on the API port at all (METRICS_PORT, tests/ops/ready-metrics.test.ts).
  it("never limits /health and /ready", async () => {
    const app = limitedApp({ general: { name: `probe${Date.now()}`, rps: 1, burst: 0 } });
    for (let i = 0; i < 10; i++) {
      for (const path of ["/health", "/ready"]) {
        const res = await app.request(path, {}, fromPeer("198.51.100.3"));
        expect(res.status).toBe(200);
        expect(res.headers.get("x-ratelimit-limit")).toBeNull();
      }
    }
  });

  it("gives each client behind a trusted proxy its own budget", async () => {
    const app = limitedApp({ general: { name: `xff${Date.now()}`, rps: 1, burst: 0 } });
    for (const client of ["192.0.2.10", "192.0.2.11", "192.0.2.12"]) {
      const res = await app.request("/x", { headers: { "x-forwarded-for": client } }, fromPeer("127.0.0.1"));
      expect(res.status).toBe(200);
    }
  });

  it("ignores X-Forwarded-For from an untrusted peer, so rotating it does not bypass the limit", async () => {
    const app = limitedApp({ general: { name: `spoof${Date.now()}`, rps: 1, burst: 1 } });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const headers = { "x-forwarded-for": `192.0.2.${100 + i}` };
      statuses.push((await app.request("/x", { headers }, fromPeer("203.0.113.50"))).status);
    }
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(3);
    expect(statuses).toContain(429);
  });

  it("counts requests without a socket (in-process) as one client whatever their headers say", async () => {
    const app = limitedApp({ general: { name: `nosock${Date.now()}`, rps: 1, burst: 0 } });
    const first = await app.request("/x", { headers: { "x-forwarded-for": "192.0.2.200" } });
    const second = await app.request("/x", { headers: { "x-forwarded-for": "192.0.2.201" } });
    expect(first.status).toBe(200);
    expect(second.status).toBe(429);
  });

  it("adds no headers and refuses nothing when disabled", async () => {
    const app = limitedApp({ enabled: false, general: { name: "off", rps: 1, burst: 0 } });
    for (let i = 0; i < 5; i++) {
      const res = await app.request("/x", {}, fromPeer("198.51.100.4"));
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ratelimit-limit")).toBeNull();
    }
  });

  it("derives the login budget from the general one (3 r/s, burst 5 by default)", () => {
    expect(policiesFromConfig(15, 10)).toEqual({
      general: { name: "api", rps: 15, burst: 10 },
      auth: { name: "auth", rps: 3, burst: 5 },
    });
  });
});
