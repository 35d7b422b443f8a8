import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { type Report, ROW_KEYS } from "../../bench/report";
import { repoRoot } from "../support/processes";
import { maintenanceUrl } from "../support/test-env";

// `bun run bench` end to end, CI-sized: real stack, real load generator, real pgbench, tiny numbers.
// Timings are printed, never asserted; what is asserted is that every row is there and that the
// flash sale sold every seat exactly once.
const outDir = mkdtempSync(path.join(os.tmpdir(), "evently-bench-test-"));
const dbName = `evently_bench_test_${process.pid}`;

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe("bun run bench (CI-sized quick mode)", () => {
  it("prints every row, sells exactly the flash sale's seats with no oversell, and cleans up", async () => {
    const proc = Bun.spawn(
      [
        process.execPath,
        "bench/index.ts",
        "--quick",
        ...["--duration", "1", "--warmup", "0", "--concurrency", "4", "--api-workers", "1"],
        ...["--users", "100", "--booking-seats", "2000", "--seat-map-seats", "1000"],
        ...["--flash-users", "60", "--flash-seats", "30", "--flash-concurrency", "30", "--waitlist-releases", "3"],
        ...["--db-name", dbName, "--out", outDir],
      ],
      { cwd: repoRoot, env: process.env, stdout: "pipe", stderr: "pipe" },
    );
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    if (code !== 0) process.stderr.write(`${stdout}\n${stderr}`);
    expect(code).toBe(0);

    const report = (await Bun.file(path.join(outDir, "latest.json")).json()) as Report;
    expect(report.rows.map((r) => r.key)).toEqual([...ROW_KEYS]);
    for (const row of report.rows) {
      expect(stdout).toContain(row.scenario);
      expect(`${row.evently} ${row.reference}`).not.toContain("FAILED");
    }
    expect(stdout).toMatch(/^\| scenario +\| Evently +\| reference +\| ratio +\|$/m);
    expect(await Bun.file(path.join(outDir, "latest.md")).text()).toContain("| scenario");

    // The booking row's second reference, the minimal app on the same book_seats, really booked.
    const booking = report.raw.booking as { minimalApp: { rps: number; statuses: Record<string, number> } };
    expect(booking.minimalApp.statuses["201"]).toBeGreaterThan(0);
    expect(report.rows.find((r) => r.key === "booking")?.reference).toContain(
      "a minimal Hono app calling the same book_seats",
    );

    const flash = report.raw["flash sale"] as { outcome: { capacity: number; sold: number; oversold: number } };
    expect(flash.outcome.capacity).toBe(30);
    expect(flash.outcome.sold).toBe(flash.outcome.capacity);
    expect(flash.outcome.oversold).toBe(0);
    expect(report.checks.every((c) => c.ok)).toBe(true);
    expect(report.goals.map((g) => g.status).every((s) => ["met", "missed", "n/a"].includes(s))).toBe(true);

    const sql = postgres(maintenanceUrl, { max: 1, onnotice: () => {} });
    try {
      const left = await sql`select 1 from pg_database where datname = ${dbName}`;
      expect(left.length).toBe(0);
    } finally {
      await sql.end();
    }
  }, 120_000);
});
