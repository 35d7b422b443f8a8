import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import Redis from "ioredis";
import { config } from "../../src/config";
import { Streams } from "../../src/messaging/catalog";
import {
  compareStreamIds,
  deadLetterStream,
  ensureGroup,
  publish,
  readStream,
  recordGroupBacklogs,
  trimConsumedEntries,
} from "../../src/messaging/streams";
import { streamGroupLagAlert } from "../../src/platform/metrics";
import { redis, waitForRedis } from "../../src/platform/redis";

// A client without the key prefix, to see the keys as Redis stores them.
const raw = new Redis(config.REDIS_URL, { lazyConnect: false });
beforeAll(() => waitForRedis(5_000));
afterAll(() => raw.disconnect());

describe("stream keys and groups", () => {
  it("prefixes the keys of every stream command we use", async () => {
    const stream = Streams.seatReleased;
    const prefixed = `${config.REDIS_KEY_PREFIX}${stream}`;
    await ensureGroup(stream, "g");
    const id = await publish(stream, { event_id: 1 }, { outboxId: 7 });

    expect(await raw.exists(stream)).toBe(0);
    expect(await raw.xlen(prefixed)).toBe(1);
    const groups = (await raw.xinfo("GROUPS", prefixed)) as unknown[][];
    expect(groups.map((g) => g[1])).toEqual(["g"]);

    const read = (await redis.xreadgroup("GROUP", "g", "c1", "COUNT", 10, "STREAMS", stream, ">")) as any;
    expect(read[0][1][0][0]).toBe(id);
    expect(((await raw.xpending(prefixed, "g")) as any).slice(0, 3)).toEqual([1, id, id]);
    expect(((await redis.xpending(stream, "g")) as any)[0]).toBe(1);

    const claimed = (await redis.xautoclaim(stream, "g", "c2", 0, "0-0", "COUNT", 10)) as any;
    expect(claimed[1][0][0]).toBe(id);
    expect(await redis.xclaim(stream, "g", "c1", 0, id, "JUSTID")).toEqual([id]);
    expect(await redis.xack(stream, "g", id)).toBe(1);
    expect(((await raw.xpending(prefixed, "g")) as any)[0]).toBe(0);

    const consumers = (await redis.xinfo("CONSUMERS", stream, "g")) as unknown[][];
    expect(consumers.length).toBe(2);
    expect(await redis.xgroup("DELCONSUMER", stream, "g", "c2")).toBe(0);
    expect(((await raw.xinfo("CONSUMERS", prefixed, "g")) as unknown[][]).length).toBe(1);
    expect(await redis.xtrim(stream, "MAXLEN", 0)).toBe(1);
    expect(await raw.xlen(prefixed)).toBe(0);
  });

  it("creates a group once and ignores BUSYGROUP when it exists", async () => {
    await ensureGroup("busy.stream", "workers");
    await ensureGroup("busy.stream", "workers");
    const groups = (await redis.xinfo("GROUPS", "busy.stream")) as unknown[][];
    expect(groups.length).toBe(1);
  });

  it("delivers entries published before the group existed", async () => {
    await publish("early.stream", { n: 1 });
    await ensureGroup("early.stream", "late");
    const read = (await redis.xreadgroup("GROUP", "late", "c", "STREAMS", "early.stream", ">")) as any;
    expect(read[0][1].length).toBe(1);
  });

  it("stores the payload as JSON beside the outbox id", async () => {
    await publish("shape.stream", { a: [1, 2] }, { outboxId: 42 });
    const [entry] = await readStream("shape.stream");
    expect(entry?.fields).toEqual({ payload: '{"a":[1,2]}', outbox_id: "42" });
    expect(deadLetterStream("shape.stream")).toBe("shape.stream.dead");
  });

  it("trims only entries every group has read and acknowledged", async () => {
    const stream = "trim.stream";
    const ids: string[] = [];
    for (let n = 1; n <= 6; n++) ids.push(await publish(stream, { n }));
    await ensureGroup(stream, "fast");
    await ensureGroup(stream, "slow");
    await redis.xreadgroup("GROUP", "fast", "c", "COUNT", 6, "STREAMS", stream, ">");
    await redis.xack(stream, "fast", ids[0]!, ids[1]!, ids[2]!, ids[3]!); // 5 and 6 still pending
    await redis.xreadgroup("GROUP", "slow", "c", "COUNT", 3, "STREAMS", stream, ">");
    await redis.xack(stream, "slow", ids[0]!, ids[1]!, ids[2]!); // 4..6 not read yet

    expect(await trimConsumedEntries(stream, 0)).toBe(2);
    expect((await readStream(stream)).map((e) => e.id)).toEqual(ids.slice(2));
    // Nothing is old enough with a long retention.
    expect(await trimConsumedEntries(stream, 3_600_000)).toBe(0);
    expect(await trimConsumedEntries("no.such.stream", 0)).toBe(0);
  });

  it("orders stream ids numerically", () => {
    expect(compareStreamIds("9-0", "10-0")).toBe(-1);
    expect(compareStreamIds("10-2", "10-10")).toBe(-1);
    expect(compareStreamIds("10-1", "10-1")).toBe(0);
  });

  it("keeps every unread entry however long the consumer is away (no length cap drops them, issue 13.11)", async () => {
    const stream = "cap.outage";
    await ensureGroup(stream, "notifier");
    const total = 120_000; // above the old MAXLEN ~ 100,000
    for (let i = 0; i < total; i += 1_000) {
      const pipeline = redis.pipeline();
      for (let j = i; j < i + 1_000; j++) pipeline.xadd(stream, "*", "payload", String(j));
      await pipeline.exec();
    }
    await publish(stream, { n: total });
    expect(await redis.xlen(stream)).toBe(total + 1);
    // Nothing read yet: the maintenance trim must not drop any of it either.
    expect(await trimConsumedEntries(stream, 0)).toBe(0);
    expect(await redis.xlen(stream)).toBe(total + 1);
    // …and the backlog raises the alert gauge (STREAM_LAG_ALERT, 10,000 by default).
    await recordGroupBacklogs(stream);
    const alert = (await streamGroupLagAlert.get()).values.find((v) => v.labels.stream === stream);
    expect(alert?.value).toBe(1);
    await redis.del(stream);
  }, 60_000);
});
