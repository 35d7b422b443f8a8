import { describe, expect, it } from "bun:test";
import { startPeriodic } from "../../src/messaging/periodic";
import { waitFor } from "../support/wait";

describe("periodic jobs", () => {
  it("runs again after a failed run, never overlaps, and lets the run in progress finish on stop", async () => {
    let runs = 0;
    let active = 0;
    let maxActive = 0;
    let finished = 0;
    const job = startPeriodic({
      name: "test",
      everyMs: 5,
      run: async () => {
        runs++;
        active++;
        maxActive = Math.max(maxActive, active);
        await Bun.sleep(10);
        active--;
        if (runs === 2) throw new Error("sweep failed");
        finished++;
      },
    });
    await waitFor(() => runs >= 4, "four runs");
    await job.stop();
    expect(active).toBe(0);
    expect(maxActive).toBe(1);
    expect(finished).toBe(runs - 1);
    const after = runs;
    await Bun.sleep(30);
    expect(runs).toBe(after);
  });
});
