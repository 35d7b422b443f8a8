import { afterEach, beforeAll, describe, expect, it } from "bun:test";
import { z } from "zod";
import { DomainError, ErrorCode } from "../../src/domain/errors";
import { type StreamConsumer, type StreamEntry, startConsumer } from "../../src/messaging/consumer";
import { replayDeadLetters } from "../../src/messaging/dead-letters";
import { PermanentError } from "../../src/messaging/handler-errors";
import { deadLetterStream, ensureGroup, publish, readStream } from "../../src/messaging/streams";
import { redis, waitForRedis } from "../../src/platform/redis";
import { repoRoot, type Spawned, spawnLogged } from "../support/processes";
import { waitFor } from "../support/wait";

beforeAll(() => waitForRedis(5_000));

const running: StreamConsumer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

// The test streams are not in the catalogue: they bring their own schema.
const schema = z.object({ n: z.number() });
type Payload = z.infer<typeof schema>;
type Handler = (entry: StreamEntry<Payload>) => Promise<void>;

function consume(
  stream: string,
  handler: Handler,
  extra: { maxDeliveries?: number; visibilityTimeoutMs?: number } = {},
) {
  const consumer = startConsumer({
    stream,
    schema,
    group: "g",
    handler: (entry) => handler(entry),
    retryDelayMs: 20,
    blockMs: 200,
    ...extra,
  });
  running.push(consumer);
  return consumer;
}

const pendingCount = async (stream: string, group = "g") => Number(((await redis.xpending(stream, group)) as any)[0]);

describe("stream consumer loop", () => {
  it("acknowledges each entry once its handler succeeds", async () => {
    const seen: number[] = [];
    consume("c.ack", async (e) => {
      seen.push(e.payload.n);
      expect(e.deliveries).toBe(1);
    });
    for (const n of [1, 2, 3]) await publish("c.ack", { n }, { outboxId: n });
    await waitFor(() => seen.length === 3, "three entries");
    await waitFor(async () => (await pendingCount("c.ack")) === 0, "the acks");
    expect(seen).toEqual([1, 2, 3]);
    expect(await readStream(deadLetterStream("c.ack"))).toEqual([]);
  });

  it("splits entries between consumers of one group, each entry handled by one of them", async () => {
    const seen = new Map<number, string[]>();
    for (const name of ["a", "b", "c"]) {
      running.push(
        startConsumer({
          stream: "c.split",
          schema,
          group: "g",
          consumer: name,
          batchSize: 3,
          blockMs: 200,
          handler: async (e) => {
            seen.set(e.payload.n, [...(seen.get(e.payload.n) ?? []), name]);
            await Bun.sleep(1);
          },
        }),
      );
    }
    await Promise.all(Array.from({ length: 60 }, (_, n) => publish("c.split", { n })));
    await waitFor(() => seen.size === 60, "sixty entries");
    await waitFor(async () => (await pendingCount("c.split")) === 0, "the acks");
    expect([...seen.values()].every((names) => names.length === 1)).toBe(true);
  });

  it("retries a failing entry with back-off until it succeeds", async () => {
    const deliveries: number[] = [];
    consume("c.retry", async (e) => {
      deliveries.push(e.deliveries);
      if (e.deliveries < 3) throw new Error("database hiccup");
    });
    await publish("c.retry", { n: 1 });
    await waitFor(async () => deliveries.length === 3 && (await pendingCount("c.retry")) === 0, "the third try");
    expect(deliveries).toEqual([1, 2, 3]);
    expect(await readStream(deadLetterStream("c.retry"))).toEqual([]);
  });

  it("moves an entry to <stream>.dead after the retry cap and acknowledges it", async () => {
    let calls = 0;
    consume(
      "c.cap",
      async () => {
        calls++;
        throw new Error("still broken");
      },
      { maxDeliveries: 3 },
    );
    const id = await publish("c.cap", { n: 9 }, { outboxId: 99 });
    await waitFor(async () => (await readStream("c.cap.dead")).length === 1, "the dead letter");
    const [dead] = await readStream("c.cap.dead");
    expect(dead?.fields).toMatchObject({
      payload: '{"n":9}',
      outbox_id: "99",
      source_stream: "c.cap",
      source_id: id,
      group: "g",
      reason: "retries_exhausted",
      error: "still broken",
      deliveries: "3",
    });
    expect(calls).toBe(3);
    expect(await pendingCount("c.cap")).toBe(0);
  });

  it("dead-letters at once on a permanent error, without retrying", async () => {
    let calls = 0;
    consume("c.permanent", async (e) => {
      calls++;
      if (e.payload.n === 1) throw new PermanentError("recipient does not exist");
      throw new DomainError(ErrorCode.EVENT_NOT_FOUND, "Event not found.");
    });
    await publish("c.permanent", { n: 1 });
    await publish("c.permanent", { n: 2 });
    await waitFor(async () => (await readStream("c.permanent.dead")).length === 2, "two dead letters");
    const dead = await readStream("c.permanent.dead");
    expect(dead.map((d) => [d.fields.reason, d.fields.deliveries, d.fields.error])).toEqual([
      ["permanent_error", "1", "recipient does not exist"],
      ["permanent_error", "1", "Event not found."],
    ]);
    expect(calls).toBe(2);
    expect(await pendingCount("c.permanent")).toBe(0);
  });

  it("dead-letters a malformed entry without calling the handler", async () => {
    let calls = 0;
    consume("c.malformed", async () => {
      calls++;
    });
    await redis.xadd("c.malformed", "*", "payload", "{not json");
    await publish("c.malformed", { n: "x" });
    await redis.xadd("c.malformed", "*", "other", "field");
    await waitFor(async () => (await readStream("c.malformed.dead")).length === 3, "three dead letters");
    const dead = await readStream("c.malformed.dead");
    expect(dead.map((d) => d.fields.reason)).toEqual(["malformed", "malformed", "malformed"]);
    expect(dead.map((d) => d.fields.error)).toEqual([
      expect.stringMatching(/^payload is not JSON: /),
      "n: Invalid input: expected number, received string",
      "entry has no payload field",
    ]);
    expect(calls).toBe(0);
  });

  it("dead-letters an abandoned entry that was already delivered too often (a poison entry)", async () => {
    await ensureGroup("c.poison", "g");
    const id = await publish("c.poison", { n: 1 });
    await redis.xreadgroup("GROUP", "g", "crashed", "STREAMS", "c.poison", ">");
    // As if three consumers in a row had died on it.
    await redis.xclaim("c.poison", "g", "crashed", 0, id, "RETRYCOUNT", 3);
    let calls = 0;
    consume(
      "c.poison",
      async () => {
        calls++;
      },
      { maxDeliveries: 3, visibilityTimeoutMs: 200 },
    );
    await waitFor(async () => (await readStream("c.poison.dead")).length === 1, "the dead letter");
    const [dead] = await readStream("c.poison.dead");
    expect(dead?.fields).toMatchObject({ reason: "max_deliveries", deliveries: "4", source_id: id });
    expect(calls).toBe(0);
  });

  it("replays dead letters onto their stream once the cause is fixed", async () => {
    let fixed = false;
    const handled: number[] = [];
    consume("c.replay", async (e) => {
      if (!fixed) throw new PermanentError("misconfigured");
      handled.push(e.payload.n);
    });
    await publish("c.replay", { n: 1 }, { outboxId: 11 });
    await redis.xadd("c.replay", "*", "payload", "{broken");
    await waitFor(async () => (await readStream("c.replay.dead")).length === 2, "two dead letters");
    fixed = true;
    expect(await replayDeadLetters("c.replay")).toBe(1);
    await waitFor(() => handled.length === 1, "the replayed entry");
    expect(handled).toEqual([1]);
    const left = await readStream("c.replay.dead");
    expect(left.map((d) => d.fields.reason)).toEqual(["malformed"]);
    const replayed = (await readStream("c.replay")).at(-1);
    expect(replayed?.fields.outbox_id).toBe("11");
  });
});

describe("stream workers as processes", () => {
  const startWorker = (stream: string, env: Record<string, string>): Spawned =>
    spawnLogged([process.execPath, `${repoRoot}/tests/support/stream-worker.ts`], {
      TEST_STREAM: stream,
      TEST_RELAY: "false",
      STREAM_VISIBILITY_TIMEOUT_MS: "1000",
      ...env,
    });
  const handlerStarts = (w: Spawned) => w.lines.filter((l) => l.msg === "test handler started").length;

  it("lets a new consumer take over the entries of a consumer killed with kill -9; each is handled once", async () => {
    const stream = "c.kill";
    await ensureGroup(stream, "test-group");
    const ids: string[] = [];
    for (let n = 1; n <= 8; n++) ids.push(await publish(stream, { n }));
    const first = startWorker(stream, { TEST_BEHAVIOUR: "hang-after:3" });
    let second: Spawned | undefined;
    try {
      await waitFor(() => handlerStarts(first) === 4, "the first worker to hang on its 4th entry");
      const pending = (await redis.xpending(stream, "test-group")) as any;
      expect(Number(pending[0])).toBe(5);
      first.proc.kill("SIGKILL");
      await first.proc.exited;

      second = startWorker(stream, { TEST_BEHAVIOUR: "record" });
      for (let n = 9; n <= 10; n++) ids.push(await publish(stream, { n }));
      await waitFor(async () => (await redis.hlen(`handled:${stream}`)) === 10, "all ten entries handled");
      await waitFor(async () => (await pendingCount(stream, "test-group")) === 0, "all acknowledged");

      const counts = await redis.hgetall(`handled:${stream}`);
      expect(Object.keys(counts).sort()).toEqual([...ids].sort());
      expect(Object.values(counts).every((c) => c === "1")).toBe(true);
      const by = await redis.hgetall(`handled-by:${stream}`);
      expect(Object.values(by).filter((pid) => pid === String(first.proc.pid)).length).toBe(3);
      expect(Object.values(by).filter((pid) => pid === String(second?.proc.pid)).length).toBe(7);
      const takeover = await second.waitForLine((l) => l.msg === "took over idle stream entries");
      expect(takeover.entry_ids).toEqual(ids.slice(3, 8));
    } finally {
      first.proc.kill("SIGKILL");
      second?.proc.kill("SIGKILL");
    }
  }, 60_000);

  it("on SIGTERM finishes the entry in hand, hands the rest back, and exits 0", async () => {
    const stream = "c.sigterm";
    await ensureGroup(stream, "test-group");
    const ids: string[] = [];
    for (let n = 1; n <= 3; n++) ids.push(await publish(stream, { n }));
    const worker = startWorker(stream, { TEST_BEHAVIOUR: "slow:1000", STREAM_VISIBILITY_TIMEOUT_MS: "60000" });
    try {
      await waitFor(() => handlerStarts(worker) === 1, "the first entry to start");
      worker.proc.kill("SIGTERM");
      expect(await worker.proc.exited).toBe(0);
      expect(await redis.hgetall(`handled:${stream}`)).toEqual({ [ids[0] as string]: "1" });
      expect(handlerStarts(worker)).toBe(1);

      // The two unstarted entries were handed back: idle past the visibility timeout, so a live
      // consumer takes them over at once instead of a minute later.
      const pending = (await redis.xpending(stream, "test-group", "-", "+", 10)) as [string, string, number, number][];
      expect(pending.map((p) => p[0])).toEqual(ids.slice(1));
      expect(pending.every((p) => p[2] > 60_000)).toBe(true);
      const taken: number[] = [];
      running.push(
        startConsumer({
          stream,
          schema,
          group: "test-group",
          visibilityTimeoutMs: 60_000,
          blockMs: 200,
          handler: async (e) => {
            taken.push(e.payload.n);
          },
        }),
      );
      await waitFor(() => taken.length === 2, "the handed-back entries");
      expect(taken).toEqual([2, 3]);
    } finally {
      worker.proc.kill("SIGKILL");
    }
  }, 60_000);
});
