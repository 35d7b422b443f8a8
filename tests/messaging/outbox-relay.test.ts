import { beforeAll, describe, expect, it } from "bun:test";
import { config } from "../../src/config";
import type { outbox } from "../../src/db/schema-messaging";
import {
  countOutboxBacklog,
  drainOutbox,
  kickOutboxRelay,
  purgePublishedOutbox,
  relayOutbox,
  settleOutboxKicks,
} from "../../src/messaging/relay";
import { readStream } from "../../src/messaging/streams";
import { sql, type Tx } from "../../src/platform/db";
import { waitForRedis } from "../../src/platform/redis";
import { repoRoot, spawnLogged } from "../support/processes";
import { PrivateRedis } from "../support/redis-server";
import { waitFor } from "../support/wait";

beforeAll(() => waitForRedis(5_000));

// Test streams are not in the catalogue (writeOutbox accepts only those): the rows are inserted
// as they are, and the relay publishes whatever a row says.
const insertRows = (tx: Tx, stream: string, payloads: object[]) =>
  tx`insert into outbox ${tx(payloads.map((payload) => ({ stream, payload: tx.json(payload as never) })))}`;

async function writeRows(stream: string, payloads: object[]): Promise<void> {
  await sql.begin((tx) => insertRows(tx, stream, payloads));
}

const rowsOf = async (stream: string) => [
  ...(await sql<(typeof outbox.$inferSelect)[]>`select * from outbox where stream = ${stream} order by id`),
];
const publishedCount = async () =>
  (await sql<{ n: number }[]>`select count(*)::int as n from outbox where published_at is not null`)[0]?.n;

describe("outbox relay", () => {
  it("publishes each committed row exactly once while several relays run at the same time", async () => {
    const stream = "relay.concurrent";
    let writing = true;
    const writer = (async () => {
      // 40 transactions of 5 rows, interleaved with the relays below.
      await Promise.all(
        Array.from({ length: 40 }, (_, t) =>
          writeRows(
            stream,
            [0, 1, 2, 3, 4].map((i) => ({ n: t * 5 + i })),
          ),
        ),
      );
      writing = false;
    })();
    const relay = async () => {
      let passes = 0;
      while (writing || (await countOutboxBacklog()) > 0) {
        await relayOutbox({ batchSize: 7 });
        passes++;
        await Bun.sleep(2);
      }
      return passes;
    };
    await Promise.all([writer, relay(), relay(), relay(), relay()]);

    const rows = await rowsOf(stream);
    expect(rows.length).toBe(200);
    expect(rows.every((r) => r.publishedAt !== null)).toBe(true);
    const entries = await readStream(stream);
    const outboxIds = entries.map((e) => e.fields.outbox_id);
    expect(entries.length).toBe(200);
    expect(new Set(outboxIds).size).toBe(200);
    expect(new Set(outboxIds)).toEqual(new Set(rows.map((r) => String(r.id))));
    const payloads = entries.map((e) => JSON.parse(e.fields.payload as string).n).sort((a, b) => a - b);
    expect(payloads).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it("publishes nothing for a transaction that rolled back", async () => {
    const stream = "relay.rollback";
    await expect(
      sql.begin(async (tx) => {
        await insertRows(tx, stream, [{ n: 1 }]);
        throw new Error("booking failed after writing the outbox");
      }),
    ).rejects.toThrow("booking failed");
    await writeRows("relay.rollback.control", [{ n: 2 }]);
    await drainOutbox();
    expect(await rowsOf(stream)).toEqual([]);
    expect(await readStream(stream)).toEqual([]);
    expect((await readStream("relay.rollback.control")).length).toBe(1);
  });

  it("publishes right after commit when kicked, without waiting for a loop", async () => {
    const stream = "relay.kick";
    await writeRows(stream, [{ n: 1 }, { n: 2 }]);
    kickOutboxRelay();
    kickOutboxRelay(); // coalesced with the first
    await settleOutboxKicks();
    expect((await readStream(stream)).length).toBe(2);
    const rows = await rowsOf(stream);
    expect(rows.every((r) => r.publishedAt !== null && r.attempts === 1)).toBe(true);
  });

  it("purges published rows after the retention, never unpublished ones", async () => {
    const stream = "relay.purge";
    await writeRows(stream, [{ n: 1 }, { n: 2 }]);
    await drainOutbox();
    await writeRows(stream, [{ n: 3 }]); // not yet published
    const [oldest] = await rowsOf(stream);
    await sql`update outbox set published_at = ${new Date(Date.now() - 2 * 86_400_000)} where id = ${oldest!.id}`;
    expect(await purgePublishedOutbox()).toBe(1);
    const left = await rowsOf(stream);
    expect(left.map((r) => [r.payload, r.publishedAt === null])).toEqual([
      [{ n: 2 }, false],
      [{ n: 3 }, true],
    ]);
    await drainOutbox();
  });

  it("keeps rows while Redis is down and publishes them once it is back", async () => {
    const stream = "relay.outage";
    const server = new PrivateRedis();
    await server.start();
    const worker = spawnLogged([process.execPath, `${repoRoot}/tests/support/stream-worker.ts`], {
      REDIS_URL: server.url,
      TEST_STREAM: stream,
    });
    const check = server.client(config.REDIS_KEY_PREFIX);
    try {
      await worker.waitForLine((l) => l.msg === "worker running");
      await writeRows(stream, [{ n: 1 }]);
      await waitFor(async () => (await readStream(stream, check)).length === 1, "the first row");

      await server.kill();
      await writeRows(stream, [{ n: 2 }]);
      await writeRows(stream, [{ n: 3 }]);
      await worker.waitForLine((l) => l.msg?.startsWith("outbox relay failed"));
      await Bun.sleep(500);
      const waiting = await rowsOf(stream);
      expect(waiting.filter((r) => r.publishedAt === null).length).toBe(2);

      await server.start();
      await waitFor(
        async () => (await rowsOf(stream)).every((r) => r.publishedAt !== null),
        "the rows to be published after Redis returned",
      );
      // The restarted server is empty: exactly the two rows that waited reached it.
      const after = await readStream(stream, check);
      expect(after.map((e) => JSON.parse(e.fields.payload as string).n)).toEqual([2, 3]);
      // The consumer in the same worker recreated its group and handled both.
      await waitFor(async () => Object.keys(await check.hgetall(`handled:${stream}`)).length === 2, "the consumer");
      expect(await publishedCount()).toBeGreaterThanOrEqual(3);
    } finally {
      worker.proc.kill("SIGKILL");
      check.disconnect();
      await server.kill();
    }
  }, 60_000);
});
