import { describe, expect, it } from "bun:test";
import os from "node:os";
import { waitForQuiet } from "../../bench/quiet";

describe("bench: waiting for a quiet machine before a scenario", () => {
  it("sees processes spinning on every core as busy, waits its bound out and says it did not settle", async () => {
    const spinners = Array.from({ length: os.availableParallelism() }, () =>
      Bun.spawn([process.execPath, "-e", "for (;;) {}"], { stdout: "ignore", stderr: "ignore" }),
    );
    try {
      await Bun.sleep(300);
      const quiet = await waitForQuiet(2_500);
      expect(quiet.settled).toBe(false);
      expect(quiet.busy).toBeGreaterThan(0.5);
      expect(quiet.waitedS).toBeGreaterThanOrEqual(2.5);
      expect(quiet.waitedS).toBeLessThan(5);
    } finally {
      for (const s of spinners) s.kill();
      await Promise.all(spinners.map((s) => s.exited));
    }
  }, 15_000);

  it("measures one window and returns when told not to wait", async () => {
    const started = performance.now();
    const quiet = await waitForQuiet(0);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(quiet.busy).toBeGreaterThanOrEqual(0);
    expect(quiet.busy).toBeLessThanOrEqual(1);
  });
});
