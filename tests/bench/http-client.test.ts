import { describe, expect, it } from "bun:test";
import { formatRequest, type HttpAnswer, HttpConnection, ResponseParser } from "../../bench/http-client";
import { percentiles } from "../../bench/load-spec";

/** Feeds `raw` to a parser in pieces of `size` bytes; returns every response it reported. */
function parse(raw: string, size: number): { answer: HttpAnswer; keepAlive: boolean }[] {
  const seen: { answer: HttpAnswer; keepAlive: boolean }[] = [];
  const parser = new ResponseParser((answer, keepAlive) => seen.push({ answer, keepAlive }));
  const bytes = Buffer.from(raw, "latin1");
  for (let i = 0; i < bytes.length; i += size) parser.feed(bytes.subarray(i, i + size));
  return seen;
}

const fixed = 'HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}';
const chunked =
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n";
const empty = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";

describe("bench load generator: HTTP/1.1 response parsing", () => {
  it("reads length-delimited, chunked and empty answers however the bytes are split", () => {
    for (const size of [1, 2, 3, 7, 64, 4096]) {
      const seen = parse(fixed + chunked + empty, size);
      expect(seen.map((s) => s.answer)).toEqual([
        { status: 201, bodyBytes: 11 },
        { status: 200, bodyBytes: 12 },
        { status: 204, bodyBytes: 0 },
      ]);
      expect(seen.map((s) => s.keepAlive)).toEqual([true, true, false]);
    }
  });

  it("keeps one connection alive across requests against a real Bun server", async () => {
    const clientPorts = new Set<number>();
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req, srv) => {
        clientPorts.add(srv.requestIP(req)?.port ?? 0);
        const body = req.method === "POST" ? await req.text() : "x".repeat(100_000);
        return new Response(body, { status: req.method === "POST" ? 201 : 200 });
      },
    });
    try {
      const conn = await HttpConnection.open("127.0.0.1", server.port as number);
      const host = `127.0.0.1:${server.port}`;
      const big = await conn.send(formatRequest("GET", "/", host, []));
      const echo = await conn.send(formatRequest("POST", "/", host, ["authorization: Bearer t"], '{"quantity":1}'));
      expect(big).toEqual({ status: 200, bodyBytes: 100_000 });
      expect(echo).toEqual({ status: 201, bodyBytes: 14 });
      expect(conn.isOpen).toBe(true);
      expect(clientPorts.size).toBe(1);
      conn.close();
    } finally {
      server.stop(true);
    }
  });

  it("computes nearest-rank percentiles", () => {
    const p = percentiles(Array.from({ length: 100 }, (_, i) => i + 1));
    expect([p.p50, p.p95, p.p99, p.max, p.mean]).toEqual([50, 95, 99, 100, 50.5]);
    expect(percentiles([]).p99).toBe(0);
  });
});
