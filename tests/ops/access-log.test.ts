import { describe, expect, it } from "bun:test";
import { startApiProcesses } from "../support/processes";
import { waitFor } from "../support/wait";

/**
 * The access log on the hot path: 2xx lines are sampled (ACCESS_LOG_SAMPLE_RATE), 4xx/5xx always
 * written, and the buffered destination still delivers lines promptly and on exit.
 */
describe("access log", () => {
  it("writes every 4xx line and none of the 2xx ones at ACCESS_LOG_SAMPLE_RATE=0", async () => {
    const group = await startApiProcesses(1, { ACCESS_LOG_SAMPLE_RATE: "0" });
    const proc = group.procs[0];
    try {
      for (let i = 0; i < 20; i++) expect((await fetch(`${group.url}/api/v1/events/`)).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await fetch(`${group.url}/api/v1/users/me`)).status).toBe(401);
      // Buffered lines arrive within a flush interval, without the process exiting.
      await waitFor(
        () => proc?.lines.filter((l) => l.msg === "request" && l.status === 401).length === 5,
        "the 401 access lines",
        5_000,
      );
      const requests = proc?.lines.filter((l) => l.msg === "request") ?? [];
      expect(requests.every((l) => l.status === 401 && l.level === 30)).toBe(true);
      expect(requests[0]?.request_id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await group.stop();
    }
  }, 30_000);

  it("samples 2xx lines at the configured rate", async () => {
    const group = await startApiProcesses(1, { ACCESS_LOG_SAMPLE_RATE: "0.5" });
    const proc = group.procs[0];
    try {
      for (let i = 0; i < 200; i++) expect((await fetch(`${group.url}/api/v1/events/`)).status).toBe(200);
      await Bun.sleep(300);
      const logged = proc?.lines.filter((l) => l.msg === "request" && l.status === 200).length ?? 0;
      // Binomial(200, 0.5): 100 ± 7; outside 50..150 is beyond 7 standard deviations.
      expect(logged).toBeGreaterThan(50);
      expect(logged).toBeLessThan(150);
    } finally {
      await group.stop();
    }
  }, 30_000);

  it("writes what is still buffered when the process stops", async () => {
    const group = await startApiProcesses(1, { ACCESS_LOG_SAMPLE_RATE: "1", LOG_FLUSH_INTERVAL_MS: "3000" });
    const proc = group.procs[0];
    try {
      for (let i = 0; i < 3; i++) await fetch(`${group.url}/api/v1/users/me`);
    } finally {
      await group.stop();
    }
    await proc?.proc.exited;
    await Bun.sleep(100);
    expect(proc?.lines.filter((l) => l.msg === "request").length).toBe(3);
    expect(proc?.lines.some((l) => l.msg === "api shutting down: finishing in-flight requests")).toBe(true);
  }, 30_000);
});
