import { describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import path from "node:path";
import { Glob } from "bun";
import { parse } from "yaml";
import { WORKERS as START_CHILDREN } from "../../scripts/lib/children";
import { parseConfig } from "../../src/config";
import { freePort, repoRoot, startApiProcesses } from "../support/processes";

// No Docker engine runs here: these tests read the files the engine would, and check what
// `docker compose config` and `docker build` would otherwise only tell us on a deploy.
const read = (file: string) => Bun.file(path.join(repoRoot, file)).text();
const compose = parse(await read("docker-compose.yml"), { merge: true }) as {
  services: Record<string, any>;
  volumes: any;
  networks: any;
};
const dockerfile = await read("Dockerfile");
const scripts = Object.keys(JSON.parse(await read("package.json")).scripts as Record<string, string>);
const services = compose.services;

const WORKERS = [
  "waitlist-promoter",
  "waitlist-janitor",
  "cache-warmer",
  "notifier",
  "maintenance",
  "webhook-dispatcher",
];
const APP_SERVICES = ["migrate", "api", ...WORKERS];

/** The JSON-array commands of the Dockerfile (CMD, HEALTHCHECK ... CMD). */
const dockerfileCommands = [...dockerfile.matchAll(/CMD (\[.*\])/g)].map((m) => JSON.parse(m[1] as string) as string[]);

/** `${VAR:-default}` and `${VAR:?message}` the way compose reads them, from `vars`. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    const v = vars[name];
    if (v) return v;
    if (op === "?") throw new Error(`compose needs ${name}: ${arg}`);
    return op === "-" ? (arg ?? "") : "";
  });
}

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1] as string] = m[2] as string;
  }
  return env;
}

describe("docker-compose.yml", () => {
  it("runs nginx, three API replicas, one container per worker, migrate, PostgreSQL, Redis and Adminer", () => {
    expect(Object.keys(services).sort()).toEqual(
      ["adminer", "api", "migrate", "nginx", "postgres", "redis", ...WORKERS].sort(),
    );
    expect(services.api.deploy.replicas).toBe(3);
    for (const w of WORKERS) expect(services[w].deploy?.replicas ?? 1).toBe(1);
    expect(services.nginx.ports).toContain("80:80");
  });

  it("runs every Evently process from the one image, with `bun run <script>` commands that exist", () => {
    const expected: Record<string, string> = {
      migrate: "migrate",
      api: "start:api",
      ...Object.fromEntries(WORKERS.map((w) => [w, `worker:${w}`])),
    };
    for (const [name, script] of Object.entries(expected)) {
      expect(services[name].image).toBe("evently:latest");
      expect(services[name].build).toBe(".");
      expect(services[name].command).toEqual(["bun", "run", script]);
    }
    const runs = [...Object.values(services).map((s) => s.command), ...dockerfileCommands]
      .filter((c): c is string[] => Array.isArray(c) && c[0] === "bun" && c[1] === "run")
      .map((c) => c[2] as string);
    expect(runs.length).toBeGreaterThanOrEqual(7);
    for (const script of runs) expect(scripts).toContain(script);
  });

  it("runs every process under workers/: a service here, a package script, and a child of `bun run start`", () => {
    const files = [...new Glob("*.ts").scanSync({ cwd: path.join(repoRoot, "workers") })].map((f) =>
      f.replace(/\.ts$/, ""),
    );
    expect(files.sort()).toEqual([...WORKERS].sort());
    expect([...START_CHILDREN].sort()).toEqual([...WORKERS].sort());
    for (const w of WORKERS) expect(scripts).toContain(`worker:${w}`);
  });

  it("starts the API and workers only after PostgreSQL and Redis are healthy and migrate has finished", () => {
    expect(services.migrate.restart).toBe("no");
    expect(services.migrate.depends_on.postgres.condition).toBe("service_healthy");
    for (const name of ["api", ...WORKERS]) {
      expect(services[name].depends_on).toEqual({
        postgres: { condition: "service_healthy" },
        redis: { condition: "service_healthy" },
        migrate: { condition: "service_completed_successfully" },
      });
      expect(services[name].restart).toBe("unless-stopped");
      expect(services[name].init).toBe(true);
    }
    expect(services.nginx.depends_on.api.condition).toBe("service_healthy");
  });

  it("health-checks PostgreSQL, Redis and the API, and keeps data in named volumes", () => {
    expect(services.postgres.healthcheck.test.join(" ")).toContain("pg_isready");
    expect(services.redis.healthcheck.test).toEqual(["CMD", "redis-cli", "ping"]);
    expect(services.api.healthcheck.test).toEqual(["CMD", "bun", "scripts/healthcheck.ts"]);
    for (const w of WORKERS) expect(services[w].healthcheck).toEqual({ disable: true });
    expect(services.postgres.volumes).toEqual(["pgdata:/var/lib/postgresql/data"]);
    expect(services.redis.volumes).toEqual(["redisdata:/data"]);
    expect(Object.keys(compose.volumes).sort()).toEqual(["pgdata", "redisdata"]);
  });

  it("caps Redis's memory and lets it evict only keys with a TTL (cache entries), never streams or waitlists", () => {
    const command = services.redis.command as string[];
    const arg = (name: string) => command[command.indexOf(name) + 1];
    expect(command).toContain("--maxmemory");
    expect(arg("--maxmemory")).toMatch(/^\d+(mb|gb)$/);
    expect(arg("--maxmemory-policy")).toBe("volatile-ttl");
    expect(arg("--appendonly")).toBe("yes");
  });

  it("mounts the gateway files that exist in the repository into nginx", () => {
    for (const volume of services.nginx.volumes as string[]) {
      const [source] = volume.split(":");
      expect(existsSync(path.join(repoRoot, source as string))).toBe(true);
    }
    expect(services.nginx.volumes).toContain("./nginx:/etc/nginx/evently:ro");
  });

  // The three secrets compose refuses to start without; .env supplies them.
  const SECRETS = { JWT_SECRET: "s".repeat(64), POSTGRES_PASSWORD: "pg-secret-1", REDIS_PASSWORD: "redis-secret-1" };

  it("gives the app a valid production configuration from .env.example, once the secrets are set", async () => {
    const example = parseEnvFile(await read(".env.example"));
    const vars = { ...example, ...SECRETS };
    for (const name of APP_SERVICES) {
      const files = (services[name].env_file as { path: string; required?: boolean }[]).map((f) => f.path);
      expect(files).toEqual([".env.example", ".env"]);
      const env = { ...example };
      for (const [k, v] of Object.entries(services[name].environment as Record<string, string>)) {
        env[k] = interpolate(v, vars);
      }
      const config = parseConfig(env);
      expect(config.NODE_ENV).toBe("production");
      expect(config.DATABASE_URL).toBe("postgres://postgres:pg-secret-1@postgres:5432/evently");
      expect(config.REDIS_URL).toBe("redis://:redis-secret-1@redis:6379/0");
    }
  });

  it("takes the PostgreSQL and Redis passwords from .env, with no default, and Redis requires its password", async () => {
    const example = parseEnvFile(await read(".env.example"));
    expect(example.POSTGRES_PASSWORD).toBe("");
    expect(example.REDIS_PASSWORD).toBe("");
    const app = services.api.environment as Record<string, string>;
    const uses = [
      services.postgres.environment.POSTGRES_PASSWORD,
      app.DATABASE_URL,
      app.REDIS_URL,
      ...(services.redis.command as string[]),
      services.redis.environment.REDISCLI_AUTH,
    ].join(" ");
    for (const name of ["POSTGRES_PASSWORD", "REDIS_PASSWORD"]) {
      // Every use of the variable fails without it (`${VAR:?message}`); none has a default.
      expect(uses).toContain(`\${${name}:?`);
      expect(uses).not.toMatch(new RegExp(`\\$\\{${name}(:?-|\\})`));
      const missing = { ...example, ...SECRETS, [name]: "" };
      expect(() => interpolate(uses, missing)).toThrow(name);
    }
    const command = (services.redis.command as string[]).map((part) => interpolate(part, SECRETS));
    expect(command[command.indexOf("--requirepass") + 1]).toBe("redis-secret-1");
    // The health check authenticates through the environment, not on the command line.
    expect(services.redis.healthcheck.test).toEqual(["CMD", "redis-cli", "ping"]);
    expect(interpolate(services.redis.environment.REDISCLI_AUTH, SECRETS)).toBe("redis-secret-1");
  });

  it("trusts X-Forwarded-For only from the gateway: nginx has a fixed address no other container can get", async () => {
    const network = compose.networks.default.ipam.config[0] as { subnet: string; ip_range: string };
    const gateway = services.nginx.networks.default.ipv4_address as string;
    for (const name of APP_SERVICES) expect(services[name].environment.TRUSTED_PROXIES).toBe(gateway);
    const toInt = (ip: string) => ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
    const within = (ip: string, cidr: string) => {
      const [base, bits] = cidr.split("/");
      const size = 2 ** (32 - Number(bits));
      return toInt(ip) >= toInt(base as string) && toInt(ip) < toInt(base as string) + size;
    };
    expect(within(gateway, network.subnet)).toBe(true);
    // Docker hands out dynamic addresses from ip_range only: the gateway's lies outside it.
    expect(within(network.ip_range.split("/")[0] as string, network.subnet)).toBe(true);
    expect(within(gateway, network.ip_range)).toBe(false);
    expect(parseEnvFile(await read(".env.example")).TRUSTED_PROXIES).toBeUndefined();
  });

  it("refuses to start without a JWT secret instead of shipping a public one", async () => {
    const example = parseEnvFile(await read(".env.example"));
    expect(example.JWT_SECRET).toBe("");
    // No ADMIN_EMAIL without its password: a squatter could register that address first.
    expect(example.ADMIN_EMAIL).toBeUndefined();
    expect(() => interpolate(services.api.environment.JWT_SECRET, example)).toThrow(/JWT_SECRET/);
  });

  it("publishes only nginx on all interfaces; Adminer listens on loopback", () => {
    const published = Object.entries(services).filter(([, s]) => s.ports);
    expect(published.map(([n]) => n).sort()).toEqual(["adminer", "nginx"]);
    expect(services.adminer.ports).toEqual(["127.0.0.1:8081:8080"]);
  });
});

describe("Dockerfile", () => {
  it("builds on the official Bun image with production dependencies only, the dashboard in a stage of its own", () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(froms).toEqual(["oven/bun:1.4.5 deps", "oven/bun:1.4.5 dashboard", "oven/bun:1.4.5 runtime"]);
    expect(dockerfile).toMatch(/bun install --frozen-lockfile --production/);
    expect(dockerfile).toContain("COPY --from=deps /app/node_modules ./node_modules");
    // The built dashboard only, not its dev dependencies.
    expect(dockerfile).toContain("COPY --from=dashboard /app/packages/dashboard/dist ./packages/dashboard/dist");
  });

  it("runs as a non-root user, with a health check and the API as the default command", () => {
    const user = /^USER (\S+)/m.exec(dockerfile)?.[1];
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user as string);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfileCommands).toEqual([
      ["bun", "scripts/healthcheck.ts"],
      ["bun", "run", "start:api"],
    ]);
  });

  it("copies only paths that exist, and keeps secrets and local state out of the build context", async () => {
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of (m[1] as string).split(/\s+/)) expect(existsSync(path.join(repoRoot, source))).toBe(true);
    }
    const ignored = (await read(".dockerignore")).split("\n").map((l) => l.trim());
    for (const entry of [".env", "node_modules", ".git"]) expect(ignored).toContain(entry);
  });

  it("has a health check script that passes against a live API and fails with none", async () => {
    const check = (port: number) =>
      Bun.spawn([process.execPath, "scripts/healthcheck.ts"], {
        cwd: repoRoot,
        env: { ...process.env, PORT: String(port) },
      }).exited;
    const api = await startApiProcesses(1);
    try {
      expect(await check(api.port)).toBe(0);
    } finally {
      await api.stop();
    }
    expect(await check(freePort())).toBe(1);
  }, 30_000);
});
