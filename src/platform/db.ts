import postgres from "postgres";
import { config } from "../config";

/**
 * One postgres.js pool per process, and the only way the code queries PostgreSQL: tagged
 * templates sent as named prepared statements (parsed and planned once per connection).
 * Timeouts are set on the server session so that a client that dies mid-transaction cannot keep
 * a seat row locked, and an unreachable server fails fast.
 */
function createClient(url: string, max: number) {
  return postgres(url, {
    max,
    connect_timeout: 3,
    idle_timeout: 30,
    prepare: true,
    onnotice: () => {},
    // Result columns come back camelCase and sql(obj) helpers write snake_case columns: rows are
    // typed from the Drizzle schema. Only column names: postgres.camel would also rename the keys
    // inside json/jsonb values (outbox payloads, stored idempotent responses), which must stay as
    // written.
    transform: { column: { from: postgres.toCamel, to: postgres.fromCamel } },
    // Our ids and counts fit in 2^53: read int8 as a number, not a string.
    types: {
      int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
    connection: {
      application_name: "evently",
      statement_timeout: config.DB_STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: 10_000,
      lock_timeout: 5_000,
    },
  });
}

export const sql = createClient(config.DATABASE_URL, config.DB_POOL_SIZE);
export type Sql = typeof sql;
export type Tx = postgres.TransactionSql<Sql extends postgres.Sql<infer T> ? T : never>;
/** Either the pool or an open transaction: every repo function takes one as its first argument. */
export type Executor = Sql | Tx;

/** Analytics may read from a replica; booking never does. */
export const readSql: Sql =
  config.DATABASE_READ_URL === config.DATABASE_URL
    ? sql
    : createClient(config.DATABASE_READ_URL, Math.max(2, Math.floor(config.DB_POOL_SIZE / 2)));

export async function closeDb(): Promise<void> {
  await sql.end({ timeout: 5 });
  if (readSql !== sql) await readSql.end({ timeout: 5 });
}
