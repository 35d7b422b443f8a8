import { describe, expect, it } from "bun:test";
import { chmod, cp, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { findNginx, renderLocalNginxConf } from "../../scripts/lib/nginx-local";
import { freePort, repoRoot } from "../support/processes";

async function burst(url: string, n: number, init: RequestInit) {
  const results = await Promise.all(
    Array.from({ length: n }, async () => {
      const res = await fetch(url, init);
      return { status: res.status, headers: res.headers, body: await res.text() };
    }),
  );
  return { results, passed: results.filter((r) => r.status !== 429).length };
}

/**
 * nginx with the shipped rules in front of several upstream servers (as compose's `api` resolves
 * to every replica), with some rule lines changed for the test (`edits`: line -> replacement).
 */
async function startNginxOver(upstreamPorts: number[], edits: Record<string, string>) {
  const tempDir = await mkdtemp(path.join(os.tmpdir(), "evently-nginx-test-"));
  await chmod(tempDir, 0o755);
  const rulesDir = path.join(tempDir, "rules");
  await cp(path.join(repoRoot, "nginx"), rulesDir, { recursive: true });
  for (const file of ["evently-http.conf", "evently-server.conf"]) {
    let text = await Bun.file(path.join(rulesDir, file)).text();
    for (const [from, to] of Object.entries(edits)) {
      if (text.includes(from)) text = text.replace(from, to);
    }
    await Bun.write(path.join(rulesDir, file), text);
  }
  const listenPort = freePort();
  const conf = renderLocalNginxConf(await Bun.file(path.join(repoRoot, "nginx.conf")).text(), {
    rulesDir,
    upstreamPort: upstreamPorts,
    listenPort,
    tempDir,
  });
  const confPath = path.join(tempDir, "nginx.conf");
  await Bun.write(confPath, conf);
  const proc = Bun.spawn([findNginx() as string, "-p", tempDir, "-c", confPath, "-e", "stderr"], {
    stdout: "ignore",
    stderr: "pipe",
  });
  const stop = async () => {
    proc.kill("SIGTERM");
    await proc.exited;
    await rm(tempDir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const open = await Bun.connect({ hostname: "127.0.0.1", port: listenPort, socket: { data() {} } }).then(
      (socket) => {
        socket.end();
        return true;
      },
      () => false,
    );
    if (open) break;
    if (i > 100) {
      await stop();
      throw new Error("nginx did not start");
    }
    await Bun.sleep(50);
  }
  return { url: `http://127.0.0.1:${listenPort}`, stop };
}

describe("nginx retries on another replica (two stub replicas that answer too late)", () => {
  /** Sends one request through nginx over two fresh replicas; returns nginx's answer and how often it went out. */
  async function throughSlowReplicas(method: string, route: string) {
    const seen: string[] = [];
    const slowReplica = () =>
      Bun.serve({
        port: 0,
        hostname: "127.0.0.1",
        fetch: async (req) => {
          seen.push(`${req.method} ${new URL(req.url).pathname}`);
          await Bun.sleep(2_500);
          return Response.json({ ok: true });
        },
      });
    // Fresh replicas and nginx each time: a timeout marks a replica failed for 10 s (max_fails=1).
    const replicas = [slowReplica(), slowReplica()];
    // The rule under test is unchanged; only the read timeout is shortened so the test is quick.
    const nginx = await startNginxOver(
      replicas.map((r) => r.port as number),
      { "proxy_read_timeout 30s;": "proxy_read_timeout 1s;" },
    );
    try {
      const body = method === "GET" ? undefined : "{}";
      const res = await fetch(`${nginx.url}${route}`, {
        method,
        body,
        headers: { "content-type": "application/json" },
      });
      return {
        status: res.status,
        type: res.headers.get("content-type"),
        code: ((await res.json()) as { code: string }).code,
        sent: seen.filter((s) => s === `${method} ${route}`).length,
      };
    } finally {
      await nginx.stop();
      for (const r of replicas) r.stop(true);
    }
  }

  it("never sends a DELETE, PUT, PATCH or POST to a second replica after a read timeout; a GET does fail over", async () => {
    const cases: [string, string, number][] = [
      ["DELETE", "/api/v1/bookings/cancel/7", 1],
      ["POST", "/api/v1/events/1/book/1", 1],
      ["PUT", "/api/v1/events/1", 1],
      ["PATCH", "/api/v1/users/me", 1],
      ["GET", "/api/v1/events/1", 2],
    ];
    for (const [method, route, sent] of cases) {
      expect({ method, ...(await throughSlowReplicas(method, route)) }).toEqual({
        method,
        status: 503,
        type: "application/problem+json",
        code: "SERVICE_UNAVAILABLE",
        sent,
      });
    }
  }, 40_000);

  it("still rate-limits DELETE with problem+json 429s, and passes its answers through", async () => {
    const fast = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response(null, { status: 204 }) });
    const nginx = await startNginxOver([fast.port as number], {});
    try {
      const { results, passed } = await burst(`${nginx.url}/api/v1/bookings/cancel/7`, 40, { method: "DELETE" });
      expect(passed).toBeGreaterThanOrEqual(10);
      expect(passed).toBeLessThanOrEqual(16);
      for (const r of results) {
        if (r.status === 204) continue;
        expect(r.status).toBe(429);
        expect(r.headers.get("content-type")).toBe("application/problem+json");
        expect(JSON.parse(r.body).code).toBe("RATE_LIMITED");
      }
    } finally {
      await nginx.stop();
      fast.stop(true);
    }
  }, 40_000);
});
