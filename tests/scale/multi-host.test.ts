import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { chmod, cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";
import postgres from "postgres";
import { findNginx, renderLocalNginxConf } from "../../scripts/lib/nginx-local";
import { signAccessToken } from "../../src/http/tokens";
import { HostNetwork } from "../support/netns";
import { missingPgBinaries, PgPrimaryReplica } from "../support/pg-pair";
import { freePort, repoRoot, type Spawned, stopProcess } from "../support/processes";
import { findBinary } from "../support/redis-cluster";
import { remote } from "../support/remote-api";
import { waitFor } from "../support/wait";

/**
 * Evently on several hosts: network namespaces joined by veth pairs to a bridge — a gateway host
 * (nginx with the real rules), two API hosts and a worker host; PostgreSQL and Redis are private
 * instances of this test, listening on the bridge's address. A flash sale goes through the gateway
 * and one API host is killed (kill -9) in the middle of it.
 */

const missing = [
  ...missingPgBinaries(),
  ...["ip", "nginx", "redis-server"].filter((b) => !findBinary(b)),
  ...(process.getuid?.() === 0 ? [] : ["root (network namespaces)"]),
];
if (missing.length > 0) throw new Error(`tests/scale/multi-host.test.ts needs ${missing.join(", ")}`);

const net = new HostNetwork();
const pg = new PgPrimaryReplica();
let redis: Subprocess | undefined;
let nginx: Subprocess | undefined;
let nginxDir = "";
const procs: Spawned[] = [];
let db: postgres.Sql;
let gatewayUrl = "";
const API_PORT = 3000;

async function startNginx(): Promise<void> {
  nginxDir = await mkdtemp(path.join(os.tmpdir(), "evently-mh-nginx-"));
  await chmod(nginxDir, 0o755);
  const rulesDir = path.join(nginxDir, "rules");
  await cp(path.join(repoRoot, "nginx"), rulesDir, { recursive: true });
  // The sale comes from one client address (this test); nginx's per-address limit would refuse it.
  const httpRules = path.join(rulesDir, "evently-http.conf");
  const text = await Bun.file(httpRules).text();
  if (!text.includes("zone=evently_api:10m rate=15r/s")) throw new Error("nginx rules changed: update this test");
  await Bun.write(httpRules, text.replace("zone=evently_api:10m rate=15r/s", "zone=evently_api:10m rate=100000r/s"));
  // nginx counts excess per millisecond: requests arriving in the same one need a larger burst.
  const serverRules = path.join(rulesDir, "evently-server.conf");
  const serverText = await Bun.file(serverRules).text();
  if (!serverText.includes("zone=evently_api burst=10 nodelay"))
    throw new Error("nginx rules changed: update this test");
  await Bun.write(
    serverRules,
    serverText.replaceAll("zone=evently_api burst=10 nodelay", "zone=evently_api burst=10000 nodelay"),
  );
  const conf = renderLocalNginxConf(await Bun.file(path.join(repoRoot, "nginx.conf")).text(), {
    rulesDir,
    upstreamPort: 0,
    upstreamServers: ["api1", "api2"].map((h) => `${net.host(h).address}:${API_PORT}`),
    listenPort: 80,
    listenAddress: net.host("gw").address,
    tempDir: nginxDir,
  });
  await Bun.write(path.join(nginxDir, "nginx.conf"), conf);
  nginx = Bun.spawn(
    [
      "ip",
      "netns",
      "exec",
      net.host("gw").netns,
      findNginx() as string,
      "-p",
      nginxDir,
      "-c",
      path.join(nginxDir, "nginx.conf"),
      "-e",
      "stderr",
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
  gatewayUrl = `http://${net.host("gw").address}`;
}

async function accessLog(): Promise<{ time: string; status: number; upstream: string; uri: string }[]> {
  const text = await Bun.file(path.join(nginxDir, "access.log"))
    .text()
    .catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

beforeAll(async () => {
  net.up(["gw", "api1", "api2", "worker"]);
  const bridge = net.gatewayAddress;
  await pg.start({ listen: bridge, replica: false });
  db = postgres(pg.url("primary", bridge), { max: 4, onnotice: () => {} });
  const redisPort = freePort();
  redis = Bun.spawn(
    [
      "redis-server",
      "--port",
      String(redisPort),
      "--bind",
      bridge,
      "--save",
      "",
      "--appendonly",
      "no",
      "--protected-mode",
      "no",
    ],
    { stdout: "ignore", stderr: "ignore" },
  );
  const env = {
    PORT: String(API_PORT),
    DATABASE_URL: pg.url("primary", bridge),
    REDIS_URL: `redis://${bridge}:${redisPort}/0`,
    REDIS_KEY_PREFIX: "mh:",
    TRUSTED_PROXIES: net.host("gw").address,
    METRICS_PORT: "0",
    API_WORKERS: "1",
  };
  for (const host of ["api1", "api2"]) procs.push(net.spawn(host, [process.execPath, "src/server.ts"], env));
  procs.push(net.spawn("worker", [process.execPath, "workers/waitlist-promoter.ts"], env));
  await Promise.all(
    procs.map((p) => p.waitForLine((l) => l.msg === "api listening" || l.msg === "worker running", 30_000)),
  );
  await startNginx();
  await waitFor(
    async () => (await remote(gatewayUrl, "GET", "/ready")).status === 200,
    "the gateway answering",
    20_000,
  );
}, 90_000);

afterAll(async () => {
  for (const p of procs) await stopProcess(p).catch(() => {});
  nginx?.kill("SIGKILL");
  await nginx?.exited;
  redis?.kill("SIGKILL");
  await redis?.exited;
  await db?.end({ timeout: 1 }).catch(() => {});
  await pg.dispose();
  net.down();
  if (nginxDir) await rm(nginxDir, { recursive: true, force: true });
}, 60_000);

async function users(n: number): Promise<{ id: number; token: string }[]> {
  const rows = await db<{ id: number; token_version: number }[]>`
    insert into users ${db(
      Array.from({ length: n }, (_, i) => ({
        email: `mh-${Date.now()}-${i}@example.test`,
        full_name: "mh",
        hashed_password: "x",
        is_admin: i === 0,
      })),
    )} returning id, token_version`;
  return Promise.all(
    rows.map(async (r) => ({
      id: Number(r.id),
      token: await signAccessToken({ id: Number(r.id), tokenVersion: r.token_version }),
    })),
  );
}

describe("a flash sale over several hosts, losing an API host", () => {
  it("every booking a client saw is in PostgreSQL once, no seat is sold twice, retries are safe, the gateway drops the dead host", async () => {
    const [admin, ...buyers] = await users(301);
    const created = await remote(gatewayUrl, "POST", "/api/v1/events", {
      token: admin?.token,
      body: {
        name: `Sale ${Date.now()}`,
        venue: "Arena",
        start_time: new Date(Date.now() + 86_400_000).toISOString(),
        capacity: 200,
      },
    });
    expect(created.status).toBe(201);
    const eventId = created.body.id as number;

    // Each client books one seat (best available) with an Idempotency-Key, and retries the same
    // request with the same key after a network error or a 502/503/504.
    const outcome = new Map<
      number,
      { status: number; seat?: number; bookingId?: number; errors: number[]; text: string }
    >();
    let done = 0;
    let next = 0;
    const client = async () => {
      for (;;) {
        const i = next++;
        const buyer = buyers[i];
        if (!buyer) return;
        const errors: number[] = [];
        for (let attempt = 0; ; attempt++) {
          const r = await remote(gatewayUrl, "POST", `/api/v1/events/${eventId}/bookings`, {
            token: buyer.token,
            body: { quantity: 1 },
            headers: { "idempotency-key": `mh-${eventId}-${buyer.id}` },
            timeoutMs: 10_000,
          });
          if ([0, 429, 502, 503, 504].includes(r.status) && attempt < 8) {
            errors.push(r.status);
            await Bun.sleep(250);
            continue;
          }
          const b = r.body?.bookings?.[0];
          outcome.set(buyer.id, {
            status: r.status,
            seat: b?.seat_number,
            bookingId: b?.booking_id,
            errors,
            text: r.text.slice(0, 200),
          });
          break;
        }
        done++;
      }
    };
    const sale = Promise.all(Array.from({ length: 16 }, client));

    await waitFor(() => done >= 80, "the sale under way", 60_000);
    const api1 = procs[0] as Spawned;
    api1.proc.kill("SIGKILL");
    await api1.proc.exited;
    const killedAt = Date.now();
    await sale;
    const saleEnded = Date.now();

    const results = [...outcome.values()];
    const ok = results.filter((r) => r.status === 201);
    const rows = await db<{ id: number; userId: number; seatNumber: number }[]>`
      select b.id::int as id, b.user_id::int as "userId", s.seat_number as "seatNumber" from bookings b join seats s on s.id = b.seat_id
      where b.event_id = ${eventId} and b.status = 'BOOKED'`;
    const lost = ok.filter((r) => !rows.some((row) => row.id === r.bookingId)).length;
    const soldTwice = rows.length - new Set(rows.map((r) => r.seatNumber)).size;
    const retried = results.filter((r) => r.errors.length > 0);
    process.stdout.write(
      `multi-host: ${ok.length} booked, ${results.filter((r) => r.status === 409).length} sold out, ` +
        `${retried.length} clients retried after ${retried.flatMap((r) => r.errors).join(",") || "-"}, lost: ${lost}, sold twice: ${soldTwice}\n`,
    );
    expect(results.filter((r) => r.status !== 201 && r.status !== 409)).toEqual([]);
    expect(ok.length).toBe(200);
    expect(lost).toBe(0);
    expect(soldTwice).toBe(0);
    // Exactly once: one booking per client that saw one, none for anybody else (a retry after an
    // error whose first attempt had committed got that booking back, not a second one).
    expect(rows.length).toBe(ok.length);
    expect(new Set(rows.map((r) => r.userId)).size).toBe(rows.length);
    for (const r of ok) expect(rows.find((row) => row.id === r.bookingId)?.seatNumber).toBe(r.seat as number);

    // The gateway stopped sending to the dead host within seconds: after that, a request that
    // still tried it (nginx probes a failed server again after fail_timeout) went on to api2.
    const dead = `${net.host("api1").address}:${API_PORT}`;
    const killedSecond = new Date(killedAt + 3_000).toISOString().slice(0, 19);
    const late = (await accessLog()).filter((l) => l.time.slice(0, 19) >= killedSecond && l.upstream.includes(dead));
    expect(late.every((l) => l.upstream.includes(`${net.host("api2").address}:${API_PORT}`))).toBe(true);
    expect(late.length).toBeLessThanOrEqual(Math.ceil((saleEnded - killedAt) / 10_000) + 1);

    // And after the sale: every read through the gateway is answered, by api2 only.
    const logBefore = (await accessLog()).length;
    const reads = [];
    for (let i = 0; i < 40; i++) reads.push(await remote(gatewayUrl, "GET", `/api/v1/events/${eventId}`));
    expect(reads.map((r) => r.status)).toEqual(reads.map(() => 200));
    await Bun.sleep(300);
    const after = (await accessLog()).slice(logBefore).filter((l) => l.uri.startsWith("/api/v1/events/"));
    expect(after.length).toBe(40);
    expect(after.filter((l) => l.upstream.includes(dead)).length).toBeLessThanOrEqual(1);

    // The worker host still relays (the outbox drains through it).
    await waitFor(
      async () => {
        const [row] = await db<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`;
        return row?.n === 0;
      },
      "the outbox drained by the worker host",
      30_000,
    );
  }, 100_000);
});
