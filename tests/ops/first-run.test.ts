import { describe, expect, it } from "bun:test";
import { freePort, spawnLogged, stopProcess } from "../support/processes";

/** What `bun run start` says to a person on a first run (real processes). */
const plainLines = (lines: Record<string, any>[]) => lines.filter((l) => l.plain).map((l) => l.plain as string);

describe("bun run start on a first run", () => {
  it("says in one plain line that PostgreSQL is missing, where, and how to start it, then exits 1", async () => {
    const pgPort = freePort();
    const run = spawnLogged([process.execPath, "run", "start"], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/evently`,
      PORT: String(freePort()),
    });
    expect(await run.proc.exited).toBe(1);
    const stderr = await new Response(run.proc.stderr).text();
    await Bun.sleep(50);
    const said = plainLines(run.lines);
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`PostgreSQL is not reachable at 127.0.0.1:${pgPort} (DATABASE_URL)`);
    expect(said[0]).toContain("docker compose up -d postgres");
    expect(said[0]).toContain("apt-get install postgresql");
    // No driver stack trace, as JSON or otherwise.
    expect(run.lines.filter((l) => !l.plain && l.level >= 50)).toEqual([]);
    expect(`${stderr}\n${run.lines.map((l) => l.plain ?? JSON.stringify(l)).join("\n")}`).not.toMatch(
      /ECONNREFUSED|\n\s+at /,
    );
  }, 30_000);

  it("goes on degraded with one warning when Redis is unreachable, then says where to go and that no admin exists", async () => {
    const port = freePort();
    const redisPort = freePort();
    const run = spawnLogged([process.execPath, "run", "start"], {
      PORT: String(port),
      API_WORKERS: "1",
      REDIS_URL: `redis://127.0.0.1:${redisPort}/0`,
      ADMIN_EMAIL: "",
      ADMIN_PASSWORD: "",
    });
    try {
      await run.waitForLine((l) => l.plain?.startsWith("Evently is up"), 30_000);
      await run.waitForLine((l) => l.plain?.startsWith("No admin account yet"));
      const said = plainLines(run.lines);
      const warnings = said.filter((l) => l.includes("Redis"));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`Redis is not reachable at 127.0.0.1:${redisPort} (REDIS_URL)`);
      expect(warnings[0]).toContain("docker compose up -d redis");
      const base = `http://127.0.0.1:${port}`;
      expect(said.find((l) => l.startsWith("Evently is up"))).toBe(
        `Evently is up: API ${base}/api/v1 · docs ${base}/docs (Swagger UI: ${base}/swagger) · admin dashboard ${base}/admin`,
      );
      expect(await (await fetch(`${base}/ready`)).json()).toMatchObject({ postgres: "ok", redis: "degraded" });
      expect((await fetch(`${base}/admin`)).status).toBe(200);
    } finally {
      await stopProcess(run);
    }
  }, 60_000);

  it("names the admin account once up when ADMIN_EMAIL and ADMIN_PASSWORD are set", async () => {
    const port = freePort();
    const run = spawnLogged([process.execPath, "run", "start"], {
      PORT: String(port),
      API_WORKERS: "1",
      ADMIN_EMAIL: "first-admin@example.test",
      ADMIN_PASSWORD: "first-admin-pw-1",
    });
    try {
      const line = await run.waitForLine((l) => l.plain?.startsWith("Admin account:"), 30_000);
      expect(line.plain).toBe(`Admin account: first-admin@example.test — sign in at http://127.0.0.1:${port}/admin.`);
      expect(plainLines(run.lines).some((l) => l.includes("Redis"))).toBe(false);
    } finally {
      await stopProcess(run);
    }
  }, 60_000);
});
