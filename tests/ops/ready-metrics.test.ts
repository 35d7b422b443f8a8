import { describe, expect, it } from "bun:test";
import { WORKERS } from "../../scripts/lib/children";
import { parseConfig } from "../../src/config";
import { freePort, freePortRun, spawnLogged, startApiProcesses, stopProcess, waitForHttp } from "../support/processes";
import { PrivateRedis } from "../support/redis-server";

/** How many times the Redis server at `port` has answered PING (its own count, INFO commandstats). */
async function pingsServed(port: number): Promise<number> {
  const proc = Bun.spawn(["redis-cli", "-p", String(port), "info", "commandstats"], { stdout: "pipe" });
  const text = await new Response(proc.stdout).text();
  await proc.exited;
  return Number(/^cmdstat_ping:calls=(\d+)/m.exec(text)?.[1] ?? 0);
}

const sample = (text: string, series: string) =>
  Number(new RegExp(`^${series.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? 0);

describe("/ready under a flood", () => {
  it("costs at most a couple of dependency checks for 200 concurrent probes, and still sees an outage within ~1 s", async () => {
    const redis = new PrivateRedis();
    await redis.start();
    const metricsPort = freePort();
    const api = await startApiProcesses(1, { REDIS_URL: redis.url, METRICS_PORT: String(metricsPort) });
    try {
      const first = await fetch(`${api.url}/ready`);
      expect(await first.json()).toMatchObject({ status: "ok", redis: "ok" });
      await Bun.sleep(1_100); // let that answer age out
      const pingsBefore = await pingsServed(redis.port);

      const statuses = await Promise.all(
        Array.from(
          { length: 200 },
          async () => (await fetch(`${api.url}/ready`, { headers: { connection: "close" } })).status,
        ),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
      expect((await pingsServed(redis.port)) - pingsBefore).toBeLessThanOrEqual(2);
      // Every check is one PostgreSQL `select 1` and one PING: the first probe's, then one or two.
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics?scope=process`)).text();
      const checks = sample(text, "evently_readiness_checks_total");
      expect(checks).toBeGreaterThanOrEqual(2);
      expect(checks).toBeLessThanOrEqual(3);

      await redis.kill();
      const killedAt = performance.now();
      let seenMs = Number.POSITIVE_INFINITY;
      while (performance.now() - killedAt < 5_000) {
        const body = (await (await fetch(`${api.url}/ready`)).json()) as { redis: string };
        if (body.redis === "degraded") {
          seenMs = performance.now() - killedAt;
          break;
        }
        await Bun.sleep(50);
      }
      expect(seenMs).toBeLessThan(2_000);
    } finally {
      await api.stop();
      await redis.kill();
    }
  }, 40_000);
});

describe("/metrics", () => {
  it("is not served on the API port; it is served on METRICS_PORT, on loopback unless METRICS_HOST says otherwise", async () => {
    const defaults = parseConfig({});
    expect(defaults.METRICS_PORT).toBe(9100);
    expect(defaults.METRICS_HOST).toBe("127.0.0.1");

    const metricsPort = freePort();
    const api = await startApiProcesses(2, { METRICS_PORT: String(metricsPort) });
    try {
      const onApiPort = await fetch(`${api.url}/metrics`);
      expect(onApiPort.status).toBe(404);
      expect(((await onApiPort.json()) as { code: string }).code).toBe("NOT_FOUND");
      await fetch(`${api.url}/api/v1/users/12345`);
      // Whichever process answers sums the pool's snapshots, which are shared every 2 s.
      const series = 'http_requests_total{method="GET",route="/api/v1/users/:id",status="401"}';
      let text = "";
      for (let i = 0; i < 60 && !text.includes(series); i++) {
        if (i > 0) await Bun.sleep(100);
        text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      }
      expect(text).toContain(series);
      // Both processes of the pool share the port, as they share PORT.
      await Promise.all(api.procs.map((p) => p.waitForLine((l) => l.msg === "metrics listening")));
    } finally {
      await api.stop();
    }
  }, 30_000);

  it("under `bun run start`, the API pool serves METRICS_PORT and the workers the ports after it", async () => {
    const port = freePort();
    const metricsPort = freePortRun(1 + WORKERS.length);
    const run = spawnLogged([process.execPath, "run", "start"], {
      PORT: String(port),
      API_WORKERS: "1",
      METRICS_PORT: String(metricsPort),
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/health`);
      const text = await (await waitForHttp(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(text).toContain("evently_bookings_total");
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
      const expected = 1 + WORKERS.length; // one API process, then every worker
      for (let i = 0; run.lines.filter((l) => l.msg === "metrics listening").length < expected; i++) {
        if (i > 200) throw new Error("not every process serves its metrics");
        await Bun.sleep(50);
      }
      const ports = run.lines.filter((l) => l.msg === "metrics listening").map((l) => l.port as number);
      expect(ports.sort((a, b) => a - b)).toEqual(Array.from({ length: expected }, (_, i) => metricsPort + i));
    } finally {
      await stopProcess(run);
    }
  }, 40_000);
});
