import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import os from "node:os";
import { z } from "zod";
import { errorMessage } from "./platform/error-message";

/** The only reader of process.env: every setting is parsed once, validated, and frozen. */

// Secrets that have been written in this repository (an old development default, the tests'
// secret): anyone can sign tokens with them, so production refuses them.
const PUBLISHED_JWT_SECRETS = new Set([
  "dev-only-insecure-jwt-secret-change-me-0123456789",
  "test-secret-that-is-at-least-32-bytes-long!!",
]);

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** "10.0.0.1", "10.0.0.0/8", "::1", "fd00::/8" */
function isAddressOrCidr(entry: string): boolean {
  const [address = "", prefix, extra] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: intIn(1, 65535).default(3000),
    API_WORKERS: intIn(1, 256).default(os.availableParallelism()),
    DATABASE_URL: z.string().url().default("postgres://postgres@127.0.0.1:5432/evently"),
    DATABASE_READ_URL: z.string().url().optional(),
    // Per process. A booking is CPU work in PostgreSQL: connections beyond what its cores run at
    // once only add context switches and lock waits (docs/operations.md "Connections"). With the
    // 2 API processes of a 2-core host, 6 each booked 7-31 % more per second than 10, with lower
    // flash-sale p99s (docs/benchmark.md "Latest run", 3 December).
    DB_POOL_SIZE: intIn(1, 200).default(6),
    // The RAM size, in MiB, the JavaScript engine of each process `bun run start` / `start:api`
    // starts sizes its heap for (JSC's forceRAMSize, passed as BUN_JSC_forceRAMSize): left to see
    // the machine's 24 GiB, JSC lets the heap grow far between collections (API peak RSS 160+ MB
    // under load, 130-140 MB at 512). 0: leave Bun's own sizing (or your BUN_JSC_forceRAMSize).
    JS_HEAP_RAM_MB: intIn(0, 1_048_576).default(512),
    DB_STATEMENT_TIMEOUT_MS: intIn(100, 600_000).default(15_000),
    // Seconds an unused pool connection stays open (0: until the process ends). A flash sale after
    // a quiet spell must not begin by opening connections whose backends plan every statement anew.
    DB_IDLE_TIMEOUT_S: intIn(0, 86_400).default(900),
    REDIS_URL: z.string().url().default("redis://127.0.0.1:6379/0"),
    REDIS_KEY_PREFIX: z.string().max(64).default("evently:"),
    REDIS_COMMAND_TIMEOUT_MS: intIn(10, 60_000).default(500),
    JWT_SECRET: z.string().optional(),
    ACCESS_TOKEN_EXPIRE_MINUTES: intIn(1, 60 * 24 * 30).default(30),
    BCRYPT_COST: intIn(4, 15).default(10),
    // Password hashes waiting behind the one running, per process; beyond it logins and
    // registrations get 503 + Retry-After. 32 at cost 10 is about 2.5 s of waiting.
    PASSWORD_QUEUE_MAX: intIn(0, 10_000).default(32),
    ADMIN_EMAIL: z.string().email().max(254).optional(),
    ADMIN_PASSWORD: z.string().optional(),
    WAITLIST_OFFER_TTL_SECONDS: intIn(1, 86_400).default(900),
    MAX_SEATS_PER_BOOKING: intIn(1, 1000).default(10),
    MAX_SEATS_PER_USER_PER_EVENT: intIn(1, 100_000).default(10),
    RATE_LIMIT_ENABLED: bool.default(true),
    RATE_LIMIT_RPS: intIn(1, 1_000_000).default(15),
    RATE_LIMIT_BURST: intIn(0, 1_000_000).default(10),
    LOGIN_MAX_FAILURES: intIn(1, 10_000).default(10),
    TRUSTED_PROXIES: z
      .string()
      .default("127.0.0.1")
      .transform((s) =>
        s
          .split(",")
          .map((p) => p.trim())
          .filter(Boolean),
      )
      .refine((list) => list.every(isAddressOrCidr), "each entry must be an IP address or CIDR (10.0.0.0/8)"),
    GATEWAY_PORT: intIn(1, 65535).default(8080),
    // Prometheus metrics, never on PORT: the API pool shares METRICS_PORT (reusePort, like PORT);
    // under `bun run start` the workers take the ports after it. 0 turns them off.
    METRICS_PORT: intIn(0, 65535).default(9100),
    // Loopback unless told otherwise (compose: 0.0.0.0 inside the container, never published).
    METRICS_HOST: z
      .string()
      .default("127.0.0.1")
      .refine((h) => isIP(h) !== 0 || h === "localhost", "must be an IP address (0.0.0.0 for every interface)"),
    // JSON answers at least this large are compressed for clients that accept br or gzip.
    COMPRESS_MIN_BYTES: intIn(0, 100 * 1024 * 1024).default(1024),
    // A cached value larger than this is served but stored neither in Redis nor in process memory.
    CACHE_MAX_VALUE_BYTES: intIn(1024, 512 * 1024 * 1024).default(1024 * 1024),
    JANITOR_INTERVAL_MS: intIn(100, 3_600_000).default(2_000),
    CACHE_WARM_INTERVAL_MS: intIn(1_000, 3_600_000).default(30_000),
    // Stream consumers: an entry unacknowledged this long is taken over by another consumer.
    STREAM_VISIBILITY_TIMEOUT_MS: intIn(100, 3_600_000).default(30_000),
    // Deliveries of one entry before it goes to `<stream>.dead`.
    STREAM_MAX_DELIVERIES: intIn(1, 100).default(5),
    // Undelivered + unacknowledged entries of one group that raise evently_stream_lag_alert.
    STREAM_LAG_ALERT: intIn(1, 100_000_000).default(10_000),
    // First retry delay after a retryable handler error; doubles per delivery.
    STREAM_RETRY_DELAY_MS: intIn(10, 600_000).default(1_000),
    // Live availability (GET /events/{id}/live, docs/live.md).
    // Open streams per API process (503 beyond) and per client IP per process (429 beyond).
    LIVE_MAX_CONNECTIONS: intIn(1, 1_000_000).default(10_000),
    LIVE_MAX_CONNECTIONS_PER_IP: intIn(1, 1_000_000).default(20),
    // Bytes queued for one stream that its client has not read; beyond it the stream is dropped.
    LIVE_CONNECTION_BUFFER_BYTES: intIn(1024, 64 * 1024 * 1024).default(256 * 1024),
    // A stream whose client has read nothing for this long, with data waiting, is dropped.
    LIVE_IDLE_TIMEOUT_MS: intIn(1_000, 3_600_000).default(60_000),
    LIVE_HEARTBEAT_MS: intIn(100, 300_000).default(15_000),
    // Changes kept per event in its Redis stream: how far back Last-Event-ID can resume.
    LIVE_RESUME_ENTRIES: intIn(100, 10_000_000).default(10_000),
    // Each process compares its watched events with PostgreSQL this often (lost publishes).
    LIVE_RECONCILE_MS: intIn(100, 600_000).default(5_000),
    // Changes are sent at most this often per event (batched in between).
    LIVE_BATCH_MS: intIn(0, 10_000).default(50),
    LIVE_RETRY_MS: intIn(100, 600_000).default(3_000),
    MAILGUN_API_KEY: z.string().optional(),
    MAILGUN_DOMAIN: z.string().optional(),
    MAILGUN_BASE_URL: z.string().url().default("https://api.mailgun.net"),
    // Checkout holds (docs/holds.md): lifetime of a hold and of each extension, how many
    // extensions, the cap from creation, and how many live holds one user may have per event.
    HOLD_TTL_SECONDS: intIn(1, 86_400).default(600),
    HOLD_MAX_EXTENSIONS: intIn(0, 100).default(3),
    HOLD_MAX_LIFETIME_SECONDS: intIn(1, 7 * 86_400).default(1_800),
    MAX_HOLDS_PER_USER_PER_EVENT: intIn(1, 1_000).default(2),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    // Webhooks (docs/webhooks.md). Receivers on loopback, private, link-local, CGNAT or metadata
    // addresses are refused unless this is true (tests and local receivers only).
    WEBHOOK_ALLOW_PRIVATE: bool.default(false),
    // One delivery attempt, connection to last body byte read.
    WEBHOOK_TIMEOUT_MS: intIn(100, 60_000).default(10_000),
    // Retry delays: base doubling per attempt, capped, with jitter; retried until the window ends.
    WEBHOOK_RETRY_BASE_MS: intIn(10, 3_600_000).default(10_000),
    WEBHOOK_RETRY_MAX_DELAY_MS: intIn(10, 86_400_000).default(6 * 3_600_000),
    WEBHOOK_RETRY_WINDOW_SECONDS: intIn(1, 30 * 86_400).default(72 * 3_600),
    // A subscription whose deliveries have failed without a success for this long is disabled.
    WEBHOOK_DISABLE_AFTER_SECONDS: intIn(1, 365 * 86_400).default(5 * 86_400),
    // After rotate-secret, deliveries are signed with the old secret too for this long.
    WEBHOOK_SECRET_GRACE_SECONDS: intIn(0, 30 * 86_400).default(86_400),
    // The dispatcher looks for due deliveries this often (new ones wake it at once).
    WEBHOOK_POLL_INTERVAL_MS: intIn(10, 60_000).default(1_000),
    // Attempts in flight per dispatcher process.
    WEBHOOK_CONCURRENCY: intIn(1, 1_000).default(16),
    // --- Scale (docs/scale.md) ---
    // Redis Cluster seed nodes "host:port,host:port"; when set it wins over REDIS_URL (whose
    // password, if any, is still used for the cluster nodes).
    REDIS_CLUSTER_NODES: z
      .string()
      .optional()
      .transform((s) =>
        (s ?? "")
          .split(",")
          .map((n) => n.trim())
          .filter(Boolean),
      )
      .refine(
        (list) => list.every((n) => /^[^:\s]+:\d{1,5}$/.test(n) && Number(n.split(":")[1]) <= 65535),
        "each entry must be host:port",
      ),
    // Replicas that must hold a stream entry (outbox relay), a waitlist join and a cache version
    // bump before it counts as written (Redis WAIT). 0: do not wait (single Redis, no replicas).
    REDIS_WAIT_REPLICAS: intIn(0, 16).default(0),
    REDIS_WAIT_TIMEOUT_MS: intIn(1, 10_000).default(200),
    // A replica further behind than this (bytes of WAL not yet replayed) is not used for reads that
    // follow the reader's own write (docs/scale.md#read-replica).
    READ_REPLICA_CHECK_MS: intIn(100, 60_000).default(1_000),
    // Hot path (issue 14). Share of 1xx-3xx access lines written (4xx, 5xx and errors always are).
    ACCESS_LOG_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0.01),
    // Log lines are buffered and written at least this often (and on exit).
    LOG_FLUSH_INTERVAL_MS: intIn(1, 10_000).default(50),
    // How long an invalidation waits for other processes' acknowledgements before answering; a
    // process trusts its in-memory copies only this long after its last sync with Redis.
    CACHE_ACK_WAIT_MS: intIn(1, 1_000).default(20),
    // A version younger than this is never served from process memory, and a bump that follows
    // the previous one within it answers without waiting for acknowledgements. Same on every process.
    CACHE_HOT_SCOPE_MS: intIn(0, 60_000).default(1_000),
    // Rate limiter: how often each process adds its locally counted requests to Redis.
    RATE_LIMIT_SYNC_MS: intIn(5, 1_000).default(50),
    // Share of a client's burst the whole pool may admit before Redis has counted it (the bound).
    RATE_LIMIT_UNSYNCED_SHARE: z.coerce.number().min(0).max(1).default(0.2),
  })
  .superRefine((env, ctx) => {
    if (env.JWT_SECRET !== undefined && Buffer.byteLength(env.JWT_SECRET) < 32) {
      ctx.addIssue({ code: "custom", path: ["JWT_SECRET"], message: "must be at least 32 bytes" });
    }
    if (env.NODE_ENV === "production") {
      if (!env.JWT_SECRET) {
        ctx.addIssue({
          code: "custom",
          path: ["JWT_SECRET"],
          message: "must be set to a secret of at least 32 bytes when NODE_ENV=production",
        });
      } else if (PUBLISHED_JWT_SECRETS.has(env.JWT_SECRET)) {
        ctx.addIssue({
          code: "custom",
          path: ["JWT_SECRET"],
          message: "is a value published in the Evently repository; generate one (openssl rand -hex 32)",
        });
      }
      if (env.BCRYPT_COST < 10) {
        ctx.addIssue({ code: "custom", path: ["BCRYPT_COST"], message: "must be at least 10 in production" });
      }
      // A store that lets anyone on its network in is one container away from every account.
      const urls = {
        DATABASE_URL: env.DATABASE_URL,
        DATABASE_READ_URL: env.DATABASE_READ_URL,
        REDIS_URL: env.REDIS_URL,
      };
      for (const [name, url] of Object.entries(urls)) {
        if (url === undefined) continue;
        const parsed = URL.canParse(url) ? new URL(url) : undefined;
        if (!parsed?.password) {
          ctx.addIssue({
            code: "custom",
            path: [name],
            message: parsed
              ? "must carry a password when NODE_ENV=production (scheme://user:password@host/...)"
              : "must be a URL (scheme://user:password@host/...)",
          });
        }
      }
    }
    if (env.ADMIN_PASSWORD !== undefined) {
      const bytes = Buffer.byteLength(env.ADMIN_PASSWORD);
      if (bytes < 8 || bytes > 72) {
        ctx.addIssue({ code: "custom", path: ["ADMIN_PASSWORD"], message: "must be 8 to 72 bytes" });
      }
    }
  })
  .transform((env) => ({
    ...env,
    // Without one (never in production), a random secret: `bun run start` hands it to all its
    // processes (scripts/lib/children.ts); a process started alone keeps its own.
    JWT_SECRET: env.JWT_SECRET ?? randomBytes(32).toString("base64url"),
    JWT_SECRET_GENERATED: env.JWT_SECRET === undefined,
    DATABASE_READ_URL: env.DATABASE_READ_URL ?? env.DATABASE_URL,
    MAILGUN_ENABLED: Boolean(env.MAILGUN_API_KEY && env.MAILGUN_DOMAIN),
  }));

export type Config = Readonly<z.output<typeof schema>>;

/** Parses an environment; throws with one line per bad variable. Exported for tests. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset", as in most .env files.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return Object.freeze(result.data);
}

function loadConfig(): Config {
  try {
    return parseConfig(process.env);
  } catch (err) {
    process.stderr.write(`${errorMessage(err)}\n`);
    process.exit(1);
  }
}

export const config: Config = loadConfig();
