import { afterEach, beforeAll, describe, expect, it } from "bun:test";
import { type SeatReleasedPayload, type StreamName, type StreamPayload, Streams } from "../../src/messaging/catalog";
import { type StreamConsumer, type StreamEntry, startConsumer } from "../../src/messaging/consumer";
import type { OutboxRow } from "../../src/messaging/outbox";
import { deadLetterStream, publish, readStream } from "../../src/messaging/streams";
import { streamEntriesDeadLettered } from "../../src/platform/metrics";
import { redis, waitForRedis } from "../../src/platform/redis";
import { waitFor } from "../support/wait";

beforeAll(() => waitForRedis(5_000));

const running: StreamConsumer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop()));
});

const deadLettered = async (stream: string, reason: string) =>
  (await streamEntriesDeadLettered.get()).values.find((v) => v.labels.stream === stream && v.labels.reason === reason)
    ?.value ?? 0;

/** Consumes a catalogued stream, collecting the payloads its handler receives (typed by the stream). */
function collect<S extends StreamName>(stream: S): StreamPayload<S>[] {
  const handled: StreamPayload<S>[] = [];
  const handler = async (entry: StreamEntry<StreamPayload<S>>) => {
    handled.push(entry.payload);
  };
  running.push(startConsumer({ stream, group: "catalog-test", blockMs: 200, handler }));
  return handled;
}

describe("stream catalogue", () => {
  it("parses each entry with its stream's schema: a bad one is dead-lettered with what was wrong, the handler never sees it", async () => {
    const handled = collect(Streams.seatReleased);
    const before = await deadLettered(Streams.seatReleased, "malformed");
    const bad = JSON.stringify({ event_id: 7, seat_id: "12", seat_number: 3, reason: "stolen", extra: true });
    const badId = await redis.xadd(Streams.seatReleased, "*", "payload", bad, "outbox_id", "41");
    const good: SeatReleasedPayload = { event_id: 7, seat_id: 12, seat_number: 3, reason: "cancelled" };
    await publish(Streams.seatReleased, good, { outboxId: 42 });

    await waitFor(() => handled.length === 1, "the valid entry");
    await waitFor(
      async () => (await readStream(deadLetterStream(Streams.seatReleased))).length === 1,
      "the dead letter",
    );
    expect(handled).toEqual([good]);
    const [dead] = await readStream(deadLetterStream(Streams.seatReleased));
    expect(dead?.fields).toMatchObject({
      reason: "malformed",
      error:
        'seat_id: Invalid input: expected number, received string; reason: Invalid option: expected one of "cancelled"|"offer_expired"|"offer_declined"|"capacity_added"|"hold_released"|"hold_expired"',
      source_id: badId,
      payload: bad,
      outbox_id: "41",
      deliveries: "1",
    });
    expect(await deadLettered(Streams.seatReleased, "malformed")).toBe(before + 1);
    // Both were acknowledged: nothing is left pending for a retry.
    expect(Number(((await redis.xpending(Streams.seatReleased, "catalog-test")) as any)[0])).toBe(0);
  });

  it("strips fields its schema does not know before the handler sees the payload", async () => {
    const handled = collect(Streams.eventChanged);
    await publish(Streams.eventChanged, { event_id: 5, change: "updated", note: "not in the schema" });
    await waitFor(() => handled.length === 1, "the entry");
    expect(handled).toEqual([{ event_id: 5, change: "updated" }]);
  });

  it("types outbox rows by stream: a payload that does not fit its stream does not compile", () => {
    const rows: OutboxRow[] = [
      { stream: Streams.eventChanged, payload: { event_id: 1, change: "created" } },
      // @ts-expect-error a seat.released payload needs seat_id and seat_number
      { stream: Streams.seatReleased, payload: { event_id: 1, reason: "cancelled" } },
      // @ts-expect-error an event.changed payload on the notifications stream
      { stream: Streams.notifications, payload: { event_id: 1, change: "created" } },
    ];
    expect(rows).toHaveLength(3);
  });
});
