import Redis from "ioredis";
import { config } from "../../src/config";
import { pgErrorCode } from "../../src/domain/errors";

/**
 * What `bun run start` tells a person, in plain lines beside the JSON logs: which service is
 * missing and how to start it, and once up, where to go.
 */

const NO_CONNECTION = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "CONNECT_TIMEOUT",
]);

const address = (url: string, defaultPort: number) => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || defaultPort}`;
};

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** The one line for a failed start-up, when the cause is PostgreSQL being out of reach; else undefined. */
export function postgresUnreachableLine(err: unknown): string | undefined {
  const code = pgErrorCode(err) ?? (err as { code?: string })?.code;
  if (!code || !NO_CONNECTION.has(code)) return undefined;
  return (
    `Evently cannot start: PostgreSQL is not reachable at ${address(config.DATABASE_URL, 5432)} (DATABASE_URL). ` +
    `Start it with \`docker compose up -d postgres redis\`, or install it from your OS packages ` +
    `(\`apt-get install postgresql\`, \`brew install postgresql@15\`) and start its service.`
  );
}

/** Whether Redis answers a PING within about a second; the first connection, nothing retried. */
export async function redisReachable(): Promise<boolean> {
  // With REDIS_CLUSTER_NODES, the first seed node (a plain PING answers on any cluster node).
  const seed = config.REDIS_CLUSTER_NODES[0];
  const url = seed ? `redis://${seed}` : config.REDIS_URL;
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    commandTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  probe.on("error", () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

export const redisDegradedLine = () =>
  `Warning: Redis is not reachable at ${
    config.REDIS_CLUSTER_NODES[0]
      ? `${config.REDIS_CLUSTER_NODES[0]} (REDIS_CLUSTER_NODES)`
      : `${address(config.REDIS_URL, 6379)} (REDIS_URL)`
  }. Evently runs degraded — ` +
  `bookings work from PostgreSQL; no cache, no waitlists, background work waits in the outbox, rate limits off — ` +
  `and recovers by itself once Redis is up. ` +
  `Start it with \`docker compose up -d redis\`, or install it (\`apt-get install redis-server\`, \`brew install redis\`).`;

/** Waits until this host's API answers /health; false after `timeoutMs`. */
export async function waitForApi(timeoutMs = 30_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(`http://127.0.0.1:${config.PORT}/health`)).ok) return true;
    } catch {}
    await Bun.sleep(200);
  }
  return false;
}

export function upLines(adminEmail: string | undefined, dashboardBuilt: boolean): string[] {
  const base = `http://127.0.0.1:${config.PORT}`;
  return [
    `Evently is up: API ${base}/api/v1 · docs ${base}/docs (Swagger UI: ${base}/swagger) · admin dashboard ${base}/admin`,
    adminEmail
      ? `Admin account: ${adminEmail} — sign in at ${base}/admin.`
      : "No admin account yet: restart with ADMIN_EMAIL and ADMIN_PASSWORD set, or run `bun run create-admin` with them.",
    ...(dashboardBuilt ? [] : ["The dashboard is not built yet: run `bun run build`."]),
  ];
}
