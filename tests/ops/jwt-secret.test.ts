import { describe, expect, it } from "bun:test";
import { sign } from "hono/jwt";
import { parseConfig } from "../../src/config";
import { manyUsers, uniqueEmail } from "../support/http";
import { freePort, spawnLogged, startApiProcesses, stopProcess, waitForHttp } from "../support/processes";
import { waitFor } from "../support/wait";

// The development default that src/config.ts and .env.example used to ship: anyone who read the
// repository could sign tokens for a server started without JWT_SECRET.
const OLD_DEV_SECRET = "dev-only-insecure-jwt-secret-change-me-0123456789";
// Empty means unset to config.ts (the preload gives every test process a secret).
const NO_SECRET = { JWT_SECRET: "" };

async function tokenSignedWith(secret: string, user: { id: number }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: String(user.id), ver: 0, iat: now, exp: now + 600 }, secret, "HS256");
}

const me = (url: string, token: string) =>
  fetch(`${url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}`, connection: "close" } });

describe("JWT secret when JWT_SECRET is not set", () => {
  it("refuses a token signed with the old in-repository development secret, and says the secret is random", async () => {
    const [user] = await manyUsers(1, "old-secret");
    const api = await startApiProcesses(1, NO_SECRET);
    try {
      const res = await me(api.url, await tokenSignedWith(OLD_DEV_SECRET, user as { id: number }));
      expect(res.status).toBe(401);
      const warned = api.procs[0]?.lines.find((l) => l.msg?.includes("JWT_SECRET is not set"));
      expect(warned?.level).toBe(40);
    } finally {
      await api.stop();
    }
  }, 30_000);

  it("gives every process of one `bun run start:api` the same random secret, announced in one line", async () => {
    const port = freePort();
    const run = spawnLogged([process.execPath, "run", "start:api"], {
      ...NO_SECRET,
      PORT: String(port),
      API_WORKERS: "2",
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/health`);
      for (let i = 0; run.lines.filter((l) => l.msg === "api listening").length < 2; i++) {
        if (i > 200) throw new Error("the second API process did not start");
        await Bun.sleep(50);
      }
      const email = uniqueEmail("shared-secret");
      const password = "correct-horse-1";
      const reg = await fetch(`${url}/api/v1/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email, password }),
      });
      expect(reg.status).toBe(201);
      const { id } = (await reg.json()) as { id: number };
      const login = await fetch(`${url}/api/v1/auth/token`, {
        method: "POST",
        body: new URLSearchParams({ username: email, password }),
      });
      const token = ((await login.json()) as { access_token: string }).access_token;

      // A new connection per request, so the kernel spreads them over both processes.
      const statuses = await Promise.all(Array.from({ length: 40 }, async () => (await me(url, token)).status));
      expect(statuses.every((s) => s === 200)).toBe(true);
      // Access lines are buffered (flushed every LOG_FLUSH_INTERVAL_MS): wait for both processes'.
      const servedBy = () =>
        new Set(run.lines.filter((l) => l.msg === "request" && l.route === "/api/v1/users/me").map((l) => l.pid));
      await waitFor(() => servedBy().size === 2, "access lines from both API processes", 5_000);
      expect(servedBy().size).toBe(2);

      expect((await me(url, await tokenSignedWith(OLD_DEV_SECRET, { id }))).status).toBe(401);
      const announced = run.lines.filter((l) => l.msg?.includes("JWT_SECRET is not set"));
      expect(announced).toHaveLength(1);
      expect(announced[0]?.processes).toBe(2);
    } finally {
      await stopProcess(run);
    }
  }, 40_000);
});

describe("JWT secret in production", () => {
  const prod = {
    NODE_ENV: "production",
    DATABASE_URL: "postgres://evently:db-password@db:5432/evently",
    REDIS_URL: "redis://:redis-password@redis:6379/0",
  };

  it("is required, at least 32 bytes, and never a value published in the repository", () => {
    expect(() => parseConfig(prod)).toThrow(/JWT_SECRET/);
    expect(() => parseConfig({ ...prod, JWT_SECRET: "s".repeat(31) })).toThrow(/JWT_SECRET/);
    expect(() => parseConfig({ ...prod, JWT_SECRET: OLD_DEV_SECRET })).toThrow(/JWT_SECRET/);
    expect(parseConfig({ ...prod, JWT_SECRET: "s".repeat(32) }).JWT_SECRET).toBe("s".repeat(32));
  });
});
