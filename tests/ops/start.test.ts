import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { freePort, spawnLogged, waitForHttp } from "../support/processes";

describe("bun run start (real processes)", () => {
  it("serves /health, ensures the admin, restarts a killed API child, and stops on SIGTERM", async () => {
    const port = freePort();
    const run = spawnLogged([process.execPath, "run", "start"], {
      PORT: String(port),
      API_WORKERS: "2",
      ADMIN_EMAIL: "boss@example.test",
      ADMIN_PASSWORD: "boss-password-1",
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`);
      const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/token`, {
        method: "POST",
        body: new URLSearchParams({ username: "boss@example.test", password: "boss-password-1" }),
      });
      expect(login.status).toBe(200);

      const first = await run.waitForLine((l) => l.msg === "child started" && l.child === "api-1");
      const worker = await run.waitForLine((l) => l.msg === "child started" && l.child === "cache-warmer");
      // The heap is sized for JS_HEAP_RAM_MB (512 MiB by default), not the machine's RAM.
      for (const pid of [first.child_pid, worker.child_pid]) {
        const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
        expect(environ).toContain(`BUN_JSC_forceRAMSize=${512 * 1024 * 1024}`);
      }
      process.kill(first.child_pid, "SIGKILL");
      const restarted = await run.waitForLine(
        (l) => l.msg === "child started" && l.child === "api-1" && l.child_pid !== first.child_pid,
      );
      expect(restarted.child_pid).not.toBe(first.child_pid);
      expect((await waitForHttp(`http://127.0.0.1:${port}/health`)).status).toBe(200);

      run.proc.kill("SIGTERM");
      expect(await run.proc.exited).toBe(0);
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    } finally {
      run.proc.kill("SIGKILL");
    }
  }, 40_000);
});
