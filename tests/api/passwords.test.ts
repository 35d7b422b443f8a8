import { describe, expect, it } from "bun:test";
import { uniqueEmail } from "../support/http";
import { startApiProcesses } from "../support/processes";

describe("password hashing under a burst", () => {
  it("keeps answering other requests while 40 registrations hash at once at bcrypt cost 10", async () => {
    const api = await startApiProcesses(1, { BCRYPT_COST: "10" });
    const base = api.url;
    try {
      let slowest = 0;
      let burstDone = false;
      const probe = (async () => {
        while (!burstDone) {
          const started = performance.now();
          expect((await fetch(`${base}/health`)).status).toBe(200);
          slowest = Math.max(slowest, performance.now() - started);
          await Bun.sleep(20);
        }
      })();
      const statuses = await Promise.all(
        Array.from({ length: 40 }, async () => {
          const res = await fetch(`${base}/api/v1/auth/register`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ email: uniqueEmail("burst"), password: "correct-horse-1" }),
          });
          return res.status;
        }),
      );
      burstDone = true;
      await probe;
      expect(statuses).toEqual(statuses.map(() => 201));
      // 40 hashes of ~80 ms each: run together they would hold the event loop for about 3 s.
      expect(slowest).toBeLessThan(600);
    } finally {
      await api.stop();
    }
  }, 60_000);
});
