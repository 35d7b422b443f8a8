import { describe, expect, it } from "bun:test";
import { Glob } from "bun";
import { responseViolations, startContractProxy } from "../support/contract-proxy";
import { createEvent } from "../support/fixtures";
import { adminToken, api } from "../support/http";
import { repoRoot } from "../support/processes";

/**
 * The API's own HTTP tests, run again over real HTTP through Stoplight Prism's validating proxy
 * in front of a real API process (TEST_THROUGH_PRISM=1, see tests/support/http.ts): any answer
 * that does not match the OpenAPI document — an undocumented status, a missing or mistyped
 * field, a wrong content type — fails the request that got it, so the suite fails.
 */
const SELF = new Set(["tests/api/contract.test.ts", "tests/api/openapi-lint.test.ts"]);
const files = [...new Glob("tests/api/*.test.ts").scanSync({ cwd: repoRoot })].filter((f) => !SELF.has(f)).sort();

describe("the API's answers against its OpenAPI document (Prism proxy)", () => {
  it("catches an answer that breaks the document (control: a tampered copy)", async () => {
    const admin = await adminToken();
    const event = await createEvent(admin.token);
    const doc = (await api("GET", "/openapi.json")).body;
    doc.components.schemas.Event.properties.capacity = { type: "string" };
    const proxy = await startContractProxy(JSON.stringify(doc));
    try {
      // The API process behind the proxy shares this test file's database.
      const res = await fetch(`${proxy.url}/api/v1/events/${event.id}`);
      expect(res.status).toBe(200);
      const violations = responseViolations(res);
      expect(violations).toEqual([expect.objectContaining({ location: ["response", "body", "capacity"] })]);
    } finally {
      await proxy.stop();
    }
  }, 60_000);

  for (const file of files) {
    it(`${file} passes with every answer validated`, async () => {
      // Every request takes a detour through Prism: a test's own 5 s budget may not be enough.
      const proc = Bun.spawn([process.execPath, "test", "--timeout", "60000", file], {
        cwd: repoRoot,
        env: { ...process.env, TEST_THROUGH_PRISM: "1" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, err, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      const report = `${out}\n${err}`;
      const failures = report.split("\n").filter((l) => /^\(fail\)|against the document/.test(l.trim()));
      expect(failures).toEqual([]);
      // A non-zero exit without a failed test (an error between tests, a crashed hook): say what it was.
      const why = report
        .split("\n")
        .filter((l) => /error|Unhandled|timed out|ECONN|killed/i.test(l))
        .slice(0, 20);
      expect({ code, why: code === 0 ? [] : why }).toEqual({ code: 0, why: [] });
      expect(Number(/^\s*(\d+) pass$/m.exec(report)?.[1] ?? 0)).toBeGreaterThan(0);
    }, 240_000);
  }
});
