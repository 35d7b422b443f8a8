import { afterAll } from "bun:test";
import type { Cluster } from "ioredis";
import postgres from "postgres";
import { runMigrations } from "../../src/db/migrate";
import { maintenanceUrl, testDatabaseName, testEnv } from "./test-env";

Object.assign(process.env, testEnv);
await runMigrations(testEnv.DATABASE_URL as string);

afterAll(async () => {
  const { closeDb } = await import("../../src/platform/db");
  const { isClusterMode, redis } = await import("../../src/platform/redis");
  await closeDb().catch(() => {});
  // Drop this process's keys (tests only; never on a request path).
  const prefix = testEnv.REDIS_KEY_PREFIX as string;
  if (isClusterMode) {
    // Each master holds its own keys; its node client has no prefix, and one key per DEL (slots).
    for (const node of (redis as unknown as Cluster).nodes("master")) {
      const keys = await node.keys(`${prefix}*`).catch(() => [] as string[]);
      for (const key of keys) await node.del(key).catch(() => 0);
    }
  } else {
    const keys = await redis.keys(`${prefix}*`).catch(() => [] as string[]);
    if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length))).catch(() => 0);
  }
  redis.disconnect();
  const sql = postgres(maintenanceUrl, { max: 1, onnotice: () => {} });
  await sql.unsafe(`drop database if exists "${testDatabaseName}" with (force)`);
  await sql.end();
});
