import { describe, expect, it } from "bun:test";
import { errorMessage } from "../../src/platform/error-message";
import { WakeableSleep } from "../../src/platform/sleep";
import { stopWithGrace } from "../../src/platform/stop-process";

describe("WakeableSleep", () => {
  it("resolves after its time when nobody wakes it", async () => {
    const started = performance.now();
    await new WakeableSleep().sleep(60);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("resolves at once when woken, and a wake while nothing sleeps is not kept for the next sleep", async () => {
    const pause = new WakeableSleep();
    pause.wake();
    const started = performance.now();
    const sleeping = pause.sleep(10_000);
    setTimeout(() => pause.wake(), 20);
    await sleeping;
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(15);
    expect(waited).toBeLessThan(2_000);
  });
});

describe("stopWithGrace", () => {
  it("lets a process that handles SIGTERM exit on its own terms", async () => {
    const proc = Bun.spawn(["bash", "-c", "trap 'exit 3' TERM; while true; do sleep 0.05; done"]);
    await Bun.sleep(200);
    expect(await stopWithGrace(proc, 5_000)).toBe(3);
  });

  it("kills a process that ignores SIGTERM once the grace is over", async () => {
    const proc = Bun.spawn(["bash", "-c", "trap '' TERM; while true; do sleep 0.05; done"]);
    await Bun.sleep(200);
    const started = performance.now();
    await stopWithGrace(proc, 300);
    expect(proc.signalCode).toBe("SIGKILL");
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("returns at once for a process that has already exited", async () => {
    const proc = Bun.spawn(["true"]);
    await proc.exited;
    expect(await stopWithGrace(proc, 5_000)).toBe(0);
  });
});

describe("errorMessage", () => {
  it("gives an Error's message and anything else as a string", () => {
    expect(errorMessage(new TypeError("bad input"))).toBe("bad input");
    expect(errorMessage("plain text")).toBe("plain text");
    expect(errorMessage(42)).toBe("42");
  });
});
