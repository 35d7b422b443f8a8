/**
 * Environment for one test process: its own PostgreSQL database and Redis key prefix, so test
 * files (each run in its own process by scripts/run-tests.ts) never see each other's data.
 */
// scripts/run-tests.ts names each file's tag, so it can delete what the file's processes leave
// in Redis after they have all exited. Read once and removed: processes this one starts make up
// their own, as before.
const tag = process.env.TEST_FILE_TAG ?? `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
delete process.env.TEST_FILE_TAG;
const base = new URL(process.env.TEST_DATABASE_BASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");

/** A test process's Redis key prefix, by its tag (scripts/run-tests.ts deletes what is left under it). */
export const redisKeyPrefixFor = (fileTag: string) => `test:${fileTag}:`;

export const testDatabaseName = `evently_test_${tag}`;
export const testDatabaseUrl = (() => {
  const u = new URL(base);
  u.pathname = `/${testDatabaseName}`;
  return u.toString();
})();
export const maintenanceUrl = (() => {
  const u = new URL(base);
  u.pathname = "/postgres";
  return u.toString();
})();

export const testEnv: Record<string, string> = {
  NODE_ENV: "test",
  DATABASE_URL: testDatabaseUrl,
  REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0",
  REDIS_KEY_PREFIX: redisKeyPrefixFor(tag),
  JWT_SECRET: "test-secret-that-is-at-least-32-bytes-long!!",
  LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
  BCRYPT_COST: "4",
  // Bursts of logins in tests are about other rules; tests of the bound set their own.
  PASSWORD_QUEUE_MAX: "1000",
  RATE_LIMIT_ENABLED: "false",
  DB_POOL_SIZE: "20",
  // Off unless a test asks for it (startApiProcesses gives each group a port of its own).
  METRICS_PORT: "0",
  // TEST_REDIS_CLUSTER_NODES=host:port,… runs a test file's own app against a Redis Cluster
  // (docs/scale.md); tests that start a private redis-server are not meant for it.
  ...(process.env.TEST_REDIS_CLUSTER_NODES ? { REDIS_CLUSTER_NODES: process.env.TEST_REDIS_CLUSTER_NODES } : {}),
};
