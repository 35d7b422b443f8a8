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

  const prod = {
    NODE_ENV: "production",
    DATABASE_URL: "postgres://evently:pg-secret@db:5432/evently",
    REDIS_URL: "redis://:redis-secret@redis:6379/0",
  };

  it("refuses production without a JWT secret", () => {
    expect(() => parseConfig(prod)).toThrow(/JWT_SECRET/);
    expect(() => parseConfig({ ...prod, JWT_SECRET: "p".repeat(40) })).not.toThrow();
  });

  it("refuses production when the PostgreSQL or Redis URL carries no password, naming the variable", () => {
    const ok = { ...prod, JWT_SECRET: "p".repeat(40) };
    expect(() => parseConfig({ ...ok, DATABASE_URL: "postgres://postgres@db:5432/evently" })).toThrow(
      /DATABASE_URL: must carry a password when NODE_ENV=production/,
    );
    expect(() => parseConfig({ ...ok, DATABASE_READ_URL: "postgres://reader@replica:5432/evently" })).toThrow(
      /DATABASE_READ_URL: must carry a password/,
    );
    expect(() => parseConfig({ ...ok, REDIS_URL: "redis://redis:6379/0" })).toThrow(
      /REDIS_URL: must carry a password when NODE_ENV=production/,
    );
    // Defaults are local and passwordless: fine outside production only.
    expect(() => parseConfig({ NODE_ENV: "production", JWT_SECRET: "p".repeat(40) })).toThrow(
      /DATABASE_URL[\s\S]*REDIS_URL/,
    );
    expect(parseConfig({ ...ok, REDIS_URL: "rediss://default:redis-secret@redis:6380/0" }).REDIS_URL).toContain(
      "rediss:",
    );
    expect(() => parseConfig({})).not.toThrow();
  });

  it("exits at start-up with that message when a production process has a passwordless URL", async () => {
    const proc = Bun.spawn([process.execPath, "src/server.ts"], {
      cwd: root,
      env: {
        ...process.env,
        ...prod,
        JWT_SECRET: "p".repeat(40),
        BCRYPT_COST: "10",
        REDIS_URL: "redis://127.0.0.1:6379/0",
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(1);
    expect(await new Response(proc.stderr).text()).toContain(
      "REDIS_URL: must carry a password when NODE_ENV=production",
    );
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
