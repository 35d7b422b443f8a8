import { describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { api } from "../support/http";
import { repoRoot } from "../support/processes";

const redocly = path.join(repoRoot, "node_modules/.bin/redocly");

describe("the OpenAPI document under Redocly's recommended rules", () => {
  it("lints with no error and no warning (redocly.yaml says which rules are off and why)", async () => {
    const res = await api("GET", "/openapi.json");
    expect(res.status).toBe(200);
    const dir = mkdtempSync(path.join(os.tmpdir(), "evently-openapi-"));
    try {
      const file = path.join(dir, "openapi.json");
      await Bun.write(file, res.text);
      const run = Bun.spawnSync(
        [process.execPath, redocly, "lint", file, "--config", path.join(repoRoot, "redocly.yaml"), "--format", "json"],
        { cwd: repoRoot, stdout: "pipe", stderr: "pipe", env: { ...process.env, REDOCLY_TELEMETRY: "off" } },
      );
      const report = JSON.parse(run.stdout.toString()) as {
        totals: { errors: number; warnings: number };
        problems: { ruleId: string; message: string; location: { pointer: string }[] }[];
      };
      const found = report.problems.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
      expect(found).toEqual([]);
      expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
      expect(run.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
