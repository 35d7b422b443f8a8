import path from "node:path";

export const repoRoot = path.resolve(import.meta.dir, "../..");

export interface LocalNginxOptions {
  /** Folder holding evently-http.conf and evently-server.conf. */
  rulesDir: string;
  /** One upstream server per port (compose resolves `api` to every replica). */
  upstreamPort: number | number[];
  /** Upstream servers as host:port, instead of 127.0.0.1 + upstreamPort (API hosts elsewhere). */
  upstreamServers?: string[];
  listenPort: number;
  /** Address to listen on (default 127.0.0.1). */
  listenAddress?: string;
  /** Writable folder for the pid file and nginx's temp files. */
  tempDir: string;
}

/**
 * nginx.conf is written for the compose stack. Running it locally changes only where things
 * are: the rules folder, the upstream address, the listen port, and the paths nginx writes
 * to (a root-owned /var/lib/nginx or /run would need privileges). Every line replaced must be
 * found exactly once, so an edit to nginx.conf that this file does not know about fails loudly
 * here instead of silently testing something else.
 */
export function renderLocalNginxConf(template: string, opts: LocalNginxOptions): string {
  const t = opts.tempDir;
  const edits: [string, string][] = [
    ["include /etc/nginx/evently/", `include ${opts.rulesDir.replace(/\/?$/, "/")}`],
    // Docker's DNS does not exist here, and `resolve` needs a newer nginx than Debian's.
    ["  resolver 127.0.0.11 valid=10s ipv6=off;\n", ""],
    [
      "server api:3000 resolve;",
      (opts.upstreamServers ?? [opts.upstreamPort].flat().map((port) => `127.0.0.1:${port}`))
        .map((server) => `server ${server};`)
        .join("\n    "),
    ],
    ["listen 80;", `listen ${opts.listenAddress ?? "127.0.0.1"}:${opts.listenPort};`],
    // /dev/stdout cannot be opened when stdout is a socket (as under a test runner).
    ["access_log /dev/stdout evently_json;", `access_log ${t}/access.log evently_json;`],
    [
      "http {\n",
      [
        "http {",
        `  client_body_temp_path ${t}/client_body;`,
        `  proxy_temp_path ${t}/proxy;`,
        `  fastcgi_temp_path ${t}/fastcgi;`,
        `  uwsgi_temp_path ${t}/uwsgi;`,
        `  scgi_temp_path ${t}/scgi;`,
        "",
      ].join("\n"),
    ],
  ];
  let out = template;
  for (const [from, to] of edits) {
    const count = out.split(from).length - 1;
    const expected = from.startsWith("include ") ? 2 : 1;
    if (count !== expected) {
      throw new Error(`nginx.conf: expected ${expected} occurrence(s) of ${JSON.stringify(from)}, found ${count}`);
    }
    out = out.replaceAll(from, to);
  }
  return `# Rendered from nginx.conf by scripts/gateway-local.ts; do not edit.\npid ${t}/nginx.pid;\ndaemon off;\n${out}`;
}

/** Debian puts nginx in /usr/sbin, which is not on an ordinary user's PATH. */
export function findNginx(): string | null {
  return Bun.which("nginx") ?? Bun.which("nginx", { PATH: "/usr/sbin:/usr/local/sbin:/usr/local/nginx/sbin" });
}
