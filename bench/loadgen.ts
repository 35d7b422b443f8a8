import { formatRequest, HttpConnection } from "./http-client";
import { type LoadResult, type LoadSpec, percentiles } from "./load-spec";

/**
 * The load generator, run as its own process (`bun scripts/bench/loadgen.ts <spec.json>`) so its
 * CPU is never mistaken for the server's and the bench's own work (polling PostgreSQL, bookkeeping)
 * never slows the load. Prints one LoadResult as JSON on stdout.
 */

const specFile = process.argv[2];
if (!specFile) {
  process.stderr.write("usage: bun scripts/bench/loadgen.ts <spec.json>\n");
  process.exit(2);
}
const spec = (await Bun.file(specFile).json()) as LoadSpec;
const hostHeader = `${spec.host}:${spec.port}`;
const eachOnce = spec.tokenUse === "each-once";
const tokens = spec.tokens ?? [];

const addresses = spec.clientAddresses ?? 0;
/** Client number i as 10.a.b.c (i < 2^24). */
const address = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

// Requests that never change are encoded once.
const fixed =
  tokens.length === 0 && !spec.randomMax && addresses === 0
    ? formatRequest(spec.method, spec.path, hostHeader, [], spec.body)
    : undefined;

let nextToken = 0;
/** The next request's bytes, or undefined when there is nothing more to send. */
function nextRequest(now: number, endAt: number): Buffer | undefined {
  if (eachOnce ? nextToken >= tokens.length : now >= endAt) return undefined;
  if (fixed) return fixed;
  const index = eachOnce ? nextToken++ : Math.floor(Math.random() * tokens.length);
  const token = tokens[index];
  const path = spec.randomMax
    ? spec.path.replace("{n}", String(1 + Math.floor(Math.random() * spec.randomMax)))
    : spec.path;
  const headers = token ? [`authorization: Bearer ${token}`] : [];
  if (addresses > 0) {
    const client = token ? index % addresses : Math.floor(Math.random() * addresses);
    headers.push(`x-forwarded-for: ${address(client)}`);
  }
  return formatRequest(spec.method, path, hostHeader, headers, spec.body);
}

const latencies: number[] = [];
const statuses: Record<string, number> = {};
let bodyBytes = 0;
let errors = 0;

async function openConnection(): Promise<HttpConnection | undefined> {
  try {
    return await HttpConnection.open(spec.host, spec.port);
  } catch {
    errors++;
    return undefined;
  }
}

const opened = await Promise.all(Array.from({ length: spec.concurrency }, openConnection));
const startedAt = performance.now();
const measureFrom = eachOnce ? startedAt : startedAt + spec.warmupMs;
const endAt = measureFrom + spec.durationMs;
let lastDone = measureFrom;

async function drive(first: HttpConnection | undefined): Promise<void> {
  let conn = first;
  for (let request = nextRequest(performance.now(), endAt); request; request = nextRequest(performance.now(), endAt)) {
    if (!conn?.isOpen) conn = await openConnection();
    if (!conn) {
      await Bun.sleep(20);
      continue;
    }
    const sentAt = performance.now();
    try {
      const answer = await conn.send(request);
      const doneAt = performance.now();
      if (sentAt >= measureFrom) {
        latencies.push(doneAt - sentAt);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        bodyBytes += answer.bodyBytes;
        lastDone = Math.max(lastDone, doneAt);
      }
    } catch {
      if (sentAt >= measureFrom) errors++;
      conn = undefined;
    }
  }
  conn?.close();
}

await Promise.all(opened.map(drive));
const seconds = Math.max(0.001, (lastDone - measureFrom) / 1000);
const result: LoadResult = {
  requests: latencies.length,
  seconds,
  rps: latencies.length / seconds,
  statuses,
  errors,
  bytesPerResponse: latencies.length ? bodyBytes / latencies.length : 0,
  latencyMs: percentiles(latencies),
  generator: "bun",
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
