import { describe, expect, it } from "bun:test";
import path from "node:path";
import { parseConfig } from "../../src/config";

const root = path.resolve(import.meta.dir, "../..");

describe("configuration", () => {
  it("applies the documented defaults", () => {
    const c = parseConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.ACCESS_TOKEN_EXPIRE_MINUTES).toBe(30);
    expect(c.WAITLIST_OFFER_TTL_SECONDS).toBe(900);
    expect(c.MAX_SEATS_PER_BOOKING).toBe(10);
    expect(c.RATE_LIMIT_RPS).toBe(15);
    expect(c.RATE_LIMIT_BURST).toBe(10);
    expect(c.TRUSTED_PROXIES).toEqual(["127.0.0.1"]);
    expect(c.DATABASE_READ_URL).toBe(c.DATABASE_URL);
  });

  it("refuses a JWT secret shorter than 32 bytes, naming the variable", () => {
    expect(() => parseConfig({ JWT_SECRET: "short" })).toThrow(/JWT_SECRET: must be at least 32 bytes/);
  });

  it("refuses production without a JWT secret", () => {
    expect(() => parseConfig({ NODE_ENV: "production" })).toThrow(/JWT_SECRET/);
    expect(() => parseConfig({ NODE_ENV: "production", JWT_SECRET: "p".repeat(40) })).not.toThrow();
  });

  it("names every bad variable", () => {
    expect(() => parseConfig({ PORT: "70000", RATE_LIMIT_ENABLED: "maybe" })).toThrow(/PORT[\s\S]*RATE_LIMIT_ENABLED/);
  });

  it("exits with code 1 and one clear message when a process starts with bad config", async () => {
    const proc = Bun.spawn([process.execPath, "src/server.ts"], {
      cwd: root,
      env: { ...process.env, PORT: "not-a-port" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const code = await proc.exited;
    const err = await new Response(proc.stderr).text();
    expect(code).toBe(1);
    expect(err).toContain("Invalid configuration");
    expect(err).toContain("PORT");
  });
});
