import { afterAll } from "bun:test";
import postgres from "postgres";
import { runMigrations } from "../../src/db/migrate";
import { maintenanceUrl, testDatabaseName, testEnv } from "./test-env";

Object.assign(process.env, testEnv);
await runMigrations(testEnv.DATABASE_URL as string);

afterAll(async () => {
  const { closeDb } = await import("../../src/platform/db");
  const { redis } = await import("../../src/platform/redis");
  await closeDb().catch(() => {});
  // Drop this process's keys (tests only; never on a request path).
  const prefix = testEnv.REDIS_KEY_PREFIX as string;
  const keys = await redis.keys(`${prefix}*`).catch(() => [] as string[]);
  if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length))).catch(() => 0);
  redis.disconnect();
  const sql = postgres(maintenanceUrl, { max: 1, onnotice: () => {} });
  await sql.unsafe(`drop database if exists "${testDatabaseName}" with (force)`);
  await sql.end();
});
