import { beforeAll, describe, expect, it } from "bun:test";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { Cache, seatMapEntry } from "../../src/cache";
import { valueKeyOf } from "../../src/cache/keys";
import { compressJson } from "../../src/http/compression";
import { redis } from "../../src/platform/redis";
import { createEvent } from "../support/fixtures";
import { adminToken, app } from "../support/http";

type Seat = { id: number; event_id: number; seat_number: number; status: string; extradata: object };

let big: { id: number };
beforeAll(async () => {
  const admin = await adminToken();
  big = await createEvent(admin.token, { capacity: 100_000 });
}, 60_000);

async function seats(path: string, acceptEncoding?: string) {
  const headers: Record<string, string> = acceptEncoding ? { "accept-encoding": acceptEncoding } : {};
  const res = await app.request(path, { headers });
  return { res, bytes: new Uint8Array(await res.arrayBuffer()) };
}

const decode = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

describe("seat map of a 100,000-seat event", () => {
  it("is compressed for clients that accept gzip or brotli, much smaller, and decodes to the same JSON", async () => {
    const path = `/api/v1/events/${big.id}/seats`;
    const identity = await seats(path);
    expect(identity.res.status).toBe(200);
    expect(identity.res.headers.get("content-encoding")).toBeNull();
    const all = decode(identity.bytes) as Seat[];
    expect(all).toHaveLength(100_000);
    expect(all[99_999]?.seat_number).toBe(100_000);

    const gzip = await seats(path, "gzip, deflate");
    expect(gzip.res.headers.get("content-encoding")).toBe("gzip");
    expect(gzip.res.headers.get("vary")).toContain("Accept-Encoding");
    expect(gzip.bytes.length).toBeLessThan(identity.bytes.length / 5);
    expect(decode(gunzipSync(gzip.bytes))).toEqual(all);

    const br = await seats(path, "gzip, br");
    expect(br.res.headers.get("content-encoding")).toBe("br");
    expect(br.bytes.length).toBeLessThan(identity.bytes.length / 5);
    expect(decode(brotliDecompressSync(br.bytes))).toEqual(all);
  }, 30_000);

  it("answers a range ?from=&to= with exactly those seats, alone or with a status filter", async () => {
    const { res, bytes } = await seats(`/api/v1/events/${big.id}/seats?from=500&to=1499`);
    expect(res.status).toBe(200);
    const page = decode(bytes) as Seat[];
    expect(page.map((s) => s.seat_number)).toEqual(Array.from({ length: 1000 }, (_, i) => 500 + i));
    expect(page[0]).toMatchObject({ event_id: big.id, status: "AVAILABLE", extradata: {} });

    const tail = decode((await seats(`/api/v1/events/${big.id}/seats?from=99999&to=100000`)).bytes) as Seat[];
    expect(tail.map((s) => s.seat_number)).toEqual([99_999, 100_000]);
    const filtered = await seats(`/api/v1/events/${big.id}/seats?from=1&to=10&status=BOOKED`);
    expect(decode(filtered.bytes)).toEqual([]);
    expect((await seats(`/api/v1/events/99999999/seats?from=1&to=10`)).res.status).toBe(404);
  });

  it("refuses a bad range with 422", async () => {
    for (const query of [
      "from=0&to=5",
      "from=abc",
      "from=10&to=5",
      "from=1&to=20000",
      "to=1.5",
      "from=-3",
      "from=100001",
    ]) {
      const { res, bytes } = await seats(`/api/v1/events/${big.id}/seats?${query}`);
      expect(res.status).toBe(422);
      expect(decode(bytes).code).toBe("VALIDATION_FAILED");
    }
  });

  it("is served but never stored by the cache when larger than CACHE_MAX_VALUE_BYTES", async () => {
    await seats(`/api/v1/events/${big.id}/seats`);
    // The stored value would be under the test's key prefix; nothing is there.
    expect(await redis.exists(valueKeyOf(seatMapEntry(big.id)))).toBe(0);

    const small = new Cache({ client: redis, maxValueBytes: 64 });
    const entry = { namespace: "size-cap", entity: 1, key: "doc", ttlSeconds: 60 };
    let loads = 0;
    const load = async () => {
      loads++;
      return JSON.stringify("x".repeat(100));
    };
    for (let i = 0; i < 3; i++) expect(JSON.parse(await small.getOrLoadText(entry, load))).toBe("x".repeat(100));
    expect(loads).toBe(3);
    expect(await redis.exists(valueKeyOf(entry))).toBe(0);
  });
});

describe("response compression", () => {
  const tiny = new Hono();
  tiny.use("*", compressJson(1024));
  tiny.get("/small", (c) => c.json({ ok: true }));
  tiny.get("/problem", (c) =>
    c.body(JSON.stringify({ detail: "d".repeat(4096) }), 400, { "content-type": "application/problem+json" }),
  );
  tiny.get("/text", (c) => c.text("t".repeat(4096)));
  tiny.get("/events", (c) =>
    streamSSE(c, async (stream) => {
      for (let i = 0; i < 50; i++) await stream.writeSSE({ data: "e".repeat(200) });
    }),
  );
  const get = (path: string) => tiny.request(path, { headers: { "accept-encoding": "gzip, br" } });

  it("compresses problem+json above the threshold, and leaves small bodies, text and event streams alone", async () => {
    const problem = await get("/problem");
    expect(problem.headers.get("content-encoding")).toBe("br");
    expect(problem.status).toBe(400);
    expect((await get("/small")).headers.get("content-encoding")).toBeNull();
    expect((await get("/text")).headers.get("content-encoding")).toBeNull();
    const sse = await get("/events");
    expect(sse.headers.get("content-type")).toContain("text/event-stream");
    expect(sse.headers.get("content-encoding")).toBeNull();
    expect((await sse.text()).length).toBeGreaterThan(10_000);
  });

  it("honours q-values: gzip when brotli is refused, nothing when only identity is acceptable", async () => {
    const ask = async (acceptEncoding: string) =>
      (await tiny.request("/problem", { headers: { "accept-encoding": acceptEncoding } })).headers;
    expect((await ask("br;q=0, gzip")).get("content-encoding")).toBe("gzip");
    expect((await ask("identity")).get("content-encoding")).toBeNull();
    expect((await ask("*;q=0")).get("content-encoding")).toBeNull();
    expect((await ask("*")).get("content-encoding")).toBe("br");
  });
});
