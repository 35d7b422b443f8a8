import { beforeAll, describe, expect, it } from "bun:test";
import { Streams } from "../../src/messaging/catalog";
import { writeOutbox } from "../../src/messaging/outbox";
import { getEventDetail } from "../../src/modules/events/events.service";
import { sql } from "../../src/platform/db";
import { cacheHits } from "../../src/platform/metrics";
import { redis, waitForRedis } from "../../src/platform/redis";
import { freePort, freePortRun, repoRoot, spawnLogged, waitForHttp } from "../support/processes";
import { waitFor } from "../support/wait";

beforeAll(() => waitForRedis(5_000));

// Every process under workers/, in the order `bun run start` gives them metrics ports.
const WORKERS = [
  "waitlist-promoter",
  "waitlist-janitor",
  "cache-warmer",
  "notifier",
  "maintenance",
  "webhook-dispatcher",
];

describe("worker processes", () => {
  it("cache-warmer warms the changed event's document from the outbox and exposes its metrics on METRICS_PORT", async () => {
    const port = freePort();
    const worker = spawnLogged([process.execPath, `${repoRoot}/workers/cache-warmer.ts`], {
      METRICS_PORT: String(port),
    });
    try {
      await worker.waitForLine((l) => l.msg === "worker running");
      const [event] = await sql`insert into events (name, start_time, capacity)
                                      values ('Warm me', now() + interval '1 day', 3) returning id`;
      await sql`insert into seats (event_id, seat_number) select ${event?.id}, generate_series(1, 3)`;
      await sql.begin((tx) =>
        writeOutbox(tx, [{ stream: Streams.eventChanged, payload: { event_id: event?.id, change: "updated" } }]),
      );
      const seen = await worker.waitForLine((l) => l.event_id === event?.id && l.msg === "event document warmed");
      expect(seen).toMatchObject({ stream: "event.changed", group: "cache-warmer", change: "updated", outbox_id: "1" });
      // The first reader finds the document warm: a cache hit, no load.
      const hits = async () => (await cacheHits.get()).values.find((v) => v.labels.namespace === "event")?.value ?? 0;
      const before = await hits();
      const doc = JSON.parse(await getEventDetail(event?.id));
      expect(doc).toMatchObject({ name: "Warm me", available_seats: 3 });
      expect(await hits()).toBe(before + 1);
      await waitFor(
        async () => Number(((await redis.xpending(Streams.eventChanged, "cache-warmer")) as any)[0]) === 0,
        "ack",
      );

      // The relay counts a row after its COMMIT, which may come after the consumer's ack: poll.
      let text = "";
      await waitFor(async () => {
        text = await (await waitForHttp(`http://127.0.0.1:${port}/metrics`)).text();
        return text.includes('evently_outbox_relayed_total{stream="event.changed"} 1');
      }, "the relay metric");
      expect(text).toContain('evently_stream_entries_processed_total{stream="event.changed",group="cache-warmer"} 1');
      expect(text).toMatch(/evently_stream_pending\{stream="event.changed",group="cache-warmer"\} \d/);
      expect(text).toContain("evently_outbox_backlog");

      worker.proc.kill("SIGTERM");
      expect(await worker.proc.exited).toBe(0);
    } finally {
      worker.proc.kill("SIGKILL");
    }
  }, 30_000);

  it("bun run start runs every worker, each with its own metrics port, and restarts one killed with kill -9", async () => {
    const metricsPort = freePortRun(1 + WORKERS.length);
    const run = spawnLogged([process.execPath, "run", "start"], {
      PORT: String(freePort()),
      API_WORKERS: "1",
      METRICS_PORT: String(metricsPort),
    });
    try {
      const first = await run.waitForLine((l) => l.msg === "child started" && l.child === "notifier");
      for (const worker of WORKERS) await run.waitForLine((l) => l.msg === "worker running" && l.worker === worker);
      await run.waitForLine((l) => l.msg === "worker running" && l.worker === "notifier" && l.pid === first.child_pid);
      // The API pool shares METRICS_PORT; each worker takes its own after it. A worker may log
      // "metrics listening" after "worker running", so wait for them all.
      const workerPorts = () => run.lines.filter((l) => l.msg === "metrics listening" && l.port !== metricsPort);
      for (let i = 0; workerPorts().length < WORKERS.length && i < 300; i++) await Bun.sleep(50);
      const ports = workerPorts().map((l) => l.port);
      expect(ports.sort((a, b) => a - b)).toEqual(WORKERS.map((_, i) => metricsPort + 1 + i));
      process.kill(first.child_pid, "SIGKILL");
      const again = await run.waitForLine(
        (l) => l.msg === "child started" && l.child === "notifier" && l.child_pid !== first.child_pid,
      );
      await run.waitForLine((l) => l.msg === "worker running" && l.pid === again.child_pid);
      run.proc.kill("SIGTERM");
      expect(await run.proc.exited).toBe(0);
    } finally {
      run.proc.kill("SIGKILL");
    }
  }, 40_000);
});
