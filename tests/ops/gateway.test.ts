import { describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import path from "node:path";
import { findNginx, renderLocalNginxConf } from "../../scripts/lib/nginx-local";
import { type Gateway, startGateway } from "../support/gateway";
import { repoRoot, startApiProcesses } from "../support/processes";

async function burst(url: string, n: number, init: (i: number) => RequestInit = () => ({})) {
  const results = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await fetch(url, init(i));
      return { status: res.status, headers: res.headers, body: await res.text() };
    }),
  );
  return { results, passed: results.filter((r) => r.status !== 429).length };
}

describe("local gateway rendering", () => {
  const template = () => Bun.file(path.join(repoRoot, "nginx.conf")).text();
  const opts = { rulesDir: "/x/nginx", upstreamPort: 4001, listenPort: 4002, tempDir: "/tmp/gw" };

  it("renders nginx.conf with only the addresses and paths changed, sharing the rule files", async () => {
    const out = renderLocalNginxConf(await template(), opts);
    expect(out).toContain("include /x/nginx/evently-http.conf;");
    expect(out).toContain("include /x/nginx/evently-server.conf;");
    expect(out).toContain("server 127.0.0.1:4001;");
    expect(out).toContain("listen 127.0.0.1:4002;");
    expect(out).toContain("pid /tmp/gw/nginx.pid;");
    expect(out).toContain("client_body_temp_path /tmp/gw/client_body;");
    expect(out).toContain("access_log /tmp/gw/access.log evently_json;");
    expect(out).not.toContain("/etc/nginx/evently/evently");
    expect(out).not.toContain("api:3000");
  });

  it("fails loudly when nginx.conf no longer has a line it must replace", async () => {
    const changed = (await template()).replace("listen 80;", "listen 8000;");
    expect(() => renderLocalNginxConf(changed, opts)).toThrow(/listen 80;/);
  });

  it("finds Debian's nginx", () => {
    expect(findNginx()).not.toBeNull();
  });
});

describe("nginx gateway in front of a real API (bun run gateway:local)", () => {
  it("lets 1 + burst of 40 simultaneous requests through, answers the rest 429 problem+json, and never limits /health", async () => {
    const api = await startApiProcesses(1);
    let gw: Gateway | undefined;
    try {
      gw = await startGateway(api.port);
      const first = await burst(`${gw.url}/api/v1/users/me`, 40);
      expect(first.passed).toBeGreaterThanOrEqual(10);
      expect(first.passed).toBeLessThanOrEqual(16);
      for (const r of first.results) {
        if (r.status !== 429) {
          expect(r.status).toBe(401); // the API's own answer came through
          continue;
        }
        expect(r.headers.get("content-type")).toBe("application/problem+json");
        expect(r.headers.get("retry-after")).toBe("1");
        const body = JSON.parse(r.body);
        expect(body).toMatchObject({ status: 429, code: "RATE_LIMITED", title: "Too Many Requests" });
        expect(body.request_id).toBe(r.headers.get("x-request-id"));
      }

      const probes = await burst(`${gw.url}/health`, 30);
      expect(probes.results.every((r) => r.status === 200)).toBe(true);

      // Let the zone drain, then pretend to be 40 different clients: nginx keys on the socket.
      await Bun.sleep(2_000);
      const spoofed = await burst(`${gw.url}/api/v1/users/me`, 40, (i) => ({
        headers: { "x-forwarded-for": `198.51.100.${i + 1}`, "x-real-ip": `198.51.100.${i + 1}` },
      }));
      expect(spoofed.passed).toBeGreaterThanOrEqual(10);
      expect(spoofed.passed).toBeLessThanOrEqual(16);
      // nginx's JSON access log says which requests the zone refused.
      const info = gw.run.lines.find((l) => l.msg === "gateway listening") as Record<string, any>;
      const rejectedInLog = async () =>
        (await Bun.file(info.access_log).text())
          .trim()
          .split("\n")
          .filter((l) => JSON.parse(l).limit_req === "REJECTED").length;
      // nginx writes the line after the response has left, so it may lag a moment behind.
      for (let i = 0; i < 20 && (await rejectedInLog()) < 80 - first.passed - spoofed.passed; i++) await Bun.sleep(50);
      expect(await rejectedInLog()).toBe(80 - first.passed - spoofed.passed);
    } finally {
      await gw?.stop();
      await api.stop();
    }
  }, 40_000);

  it("gives login its own, smaller budget, without using up the general one", async () => {
    const api = await startApiProcesses(1);
    let gw: Gateway | undefined;
    try {
      gw = await startGateway(api.port);
      // Half of them with a trailing slash: /api/v1/auth/token/ must not escape to the general zone.
      const [plain, slashed] = await Promise.all([
        burst(`${gw.url}/api/v1/auth/token`, 10, () => ({ method: "POST" })),
        burst(`${gw.url}/api/v1/auth/token/`, 10, () => ({ method: "POST" })),
      ]);
      const logins = { passed: plain.passed + slashed.passed };
      // 3 r/s with a burst of 5: 6 at once, give or take timing.
      expect(logins.passed).toBeGreaterThanOrEqual(5);
      expect(logins.passed).toBeLessThanOrEqual(8);
      const general = await burst(`${gw.url}/api/v1/users/me`, 5);
      expect(general.passed).toBe(5);
    } finally {
      await gw?.stop();
      await api.stop();
    }
  }, 40_000);

  it("exits with code 0 on SIGTERM and leaves no nginx and no temp folder behind", async () => {
    const api = await startApiProcesses(1);
    let gw: Gateway | undefined;
    try {
      gw = await startGateway(api.port);
      const info = gw.run.lines.find((l) => l.msg === "gateway listening") as Record<string, any>;
      gw.run.proc.kill("SIGTERM");
      expect(await gw.run.proc.exited).toBe(0);
      expect(existsSync(info.temp_dir)).toBe(false);
      expect(() => process.kill(info.nginx_pid, 0)).toThrow();
      await expect(fetch(gw.url)).rejects.toThrow();
    } finally {
      await gw?.stop();
      await api.stop();
    }
  }, 40_000);
});

describe("nginx gateway headers and errors (stub upstream)", () => {
  it("replaces a client's X-Forwarded-For with the real peer and passes X-Real-IP and a sane X-Request-Id on", async () => {
    const echo = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: async (req) => {
        const body = req.body ? (await req.arrayBuffer()).byteLength : 0;
        return Response.json({ headers: Object.fromEntries(req.headers), body });
      },
    });
    let gw: Gateway | undefined;
    try {
      gw = await startGateway(echo.port as number);
      const seen = async (headers: Record<string, string>) =>
        ((await (await fetch(`${gw?.url}/echo`, { headers })).json()) as any).headers;

      const forwarded = await seen({ "x-forwarded-for": "6.6.6.6", "x-request-id": "trace-me-123" });
      expect(forwarded["x-forwarded-for"]).toBe("127.0.0.1");
      expect(forwarded["x-real-ip"]).toBe("127.0.0.1");
      expect(forwarded["x-request-id"]).toBe("trace-me-123");
      expect(forwarded.connection).toBeUndefined(); // keep-alive to the upstream, not "close"

      const made = await seen({ "x-request-id": '"><script>' });
      expect(made["x-request-id"]).toMatch(/^[0-9a-f]{32}$/);

      // Bodies up to 1 MiB reach the API (through nginx's temp files); larger ones are 413 problem+json.
      const half = await fetch(`${gw.url}/echo`, { method: "POST", body: new Uint8Array(512 * 1024) });
      expect(((await half.json()) as any).body).toBe(512 * 1024);
      const big = await fetch(`${gw.url}/echo`, { method: "POST", body: new Uint8Array(2 * 1024 * 1024) });
      expect(big.status).toBe(413);
      expect(big.headers.get("content-type")).toBe("application/problem+json");
      expect(((await big.json()) as any).code).toBe("BODY_TOO_LARGE");

      echo.stop(true);
      const down = await fetch(`${gw.url}/anything`);
      expect(down.status).toBe(503);
      expect(down.headers.get("content-type")).toBe("application/problem+json");
      expect(((await down.json()) as any).code).toBe("SERVICE_UNAVAILABLE");
    } finally {
      await gw?.stop();
      echo.stop(true);
    }
  }, 40_000);

  // nginx gzips 200, 403 and 404 answers only; the API compresses its other large answers itself.
  it("gzips JSON and problem+json for clients that accept it, and passes answers the API compressed untouched", async () => {
    const big = JSON.stringify({ seats: Array.from({ length: 2_000 }, (_, i) => ({ seat_number: i + 1 })) });
    const upstream = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (req) => {
        const path = new URL(req.url).pathname;
        if (path === "/problem")
          return new Response(big, { status: 404, headers: { "content-type": "application/problem+json" } });
        if (path === "/already") {
          return new Response(Bun.gzipSync(big), {
            headers: { "content-type": "application/json", "content-encoding": "gzip" },
          });
        }
        if (path === "/small") return Response.json({ ok: true });
        return new Response(big, { headers: { "content-type": "application/json" } });
      },
    });
    let gw: Gateway | undefined;
    try {
      gw = await startGateway(upstream.port as number);
      const get = (path: string, acceptEncoding = "gzip") =>
        fetch(`${gw?.url}${path}`, {
          headers: { "accept-encoding": acceptEncoding },
          decompress: false,
        } as RequestInit);
      for (const path of ["/seats", "/problem", "/already"]) {
        const res = await get(path);
        expect(res.headers.get("content-encoding")).toBe("gzip");
        const bytes = new Uint8Array(await res.arrayBuffer());
        expect(bytes.length).toBeLessThan(big.length / 5);
        expect(new TextDecoder().decode(Bun.gunzipSync(bytes))).toBe(big);
      }
      expect((await get("/seats")).headers.get("vary")).toContain("Accept-Encoding");
      expect((await get("/small")).headers.get("content-encoding")).toBeNull();
      const plain = await get("/seats", "identity");
      expect(plain.headers.get("content-encoding")).toBeNull();
      expect(await plain.text()).toBe(big);
    } finally {
      await gw?.stop();
      upstream.stop(true);
    }
  }, 40_000);
});
