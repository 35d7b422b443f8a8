import { promisify } from "node:util";
import zlib from "node:zlib";
import type { Context, MiddlewareHandler } from "hono";

/**
 * Compresses JSON answers (application/json, application/problem+json) for clients that accept
 * brotli or gzip, once they reach `minBytes`. Nothing else is touched: event streams must reach
 * the client as they are written, and other types are small or already compressed. node:zlib's
 * asynchronous calls run on libuv's thread pool, so a 10 MB seat map does not stall the event loop.
 */
const COMPRESSIBLE = /^application\/(?:json|problem\+json)\s*(?:;|$)/i;
const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

// Quality 4 / level 6: most of the size win for a fraction of the maximum settings' CPU time.
const compressors = {
  br: (body: Uint8Array) =>
    brotli(body, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 4,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength,
      },
    }),
  gzip: (body: Uint8Array) => gzip(body, { level: 6 }),
};
type Encoding = keyof typeof compressors;

/** The best of br and gzip that `Accept-Encoding` allows (q > 0, `*` included), else undefined. */
export function chooseEncoding(header: string): Encoding | undefined {
  const q = new Map<string, number>();
  for (const part of header.split(",")) {
    const [name = "", ...params] = part.trim().toLowerCase().split(";");
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    if (name) q.set(name, Number.isFinite(value) ? value : 0);
  }
  const accepts = (name: Encoding) => (q.get(name) ?? q.get("*") ?? 0) > 0;
  if (accepts("br")) return "br";
  if (accepts("gzip")) return "gzip";
  return undefined;
}

export function compressJson(minBytes: number): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const accept = c.req.header("accept-encoding");
    // Clients that send no Accept-Encoding (load generators, most scripts) pay nothing here.
    if (!accept || c.req.method === "HEAD") return;
    const res = c.res;
    if (!res.body || res.status === 204 || res.status === 206 || res.headers.has("content-encoding")) return;
    if (!COMPRESSIBLE.test(res.headers.get("content-type") ?? "")) return;
    const encoding = chooseEncoding(accept);
    if (!encoding) return;
    const body = new Uint8Array(await res.arrayBuffer());
    const headers = new Headers(res.headers);
    if (body.byteLength < minBytes) return replaceResponse(c, new Response(body, { status: res.status, headers }));
    const compressed = await compressors[encoding](body);
    headers.set("content-encoding", encoding);
    headers.delete("content-length");
    const vary = headers.get("vary");
    if (!vary) headers.set("vary", "Accept-Encoding");
    else if (!/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(vary)) headers.set("vary", `${vary}, Accept-Encoding`);
    replaceResponse(c, new Response(compressed, { status: res.status, headers }));
  };
}

/** Hono merges the old response's headers into a new one (content-length too); start from none. */
function replaceResponse(c: Context, res: Response): void {
  c.res = undefined;
  c.res = res;
}
