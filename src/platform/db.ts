import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { config } from "../config";
import * as schema from "../db/schema";

/**
 * One postgres.js pool per process. Timeouts are set on the server session so that a client
 * that dies mid-transaction cannot keep a seat row locked, and an unreachable server fails fast.
 */
function createClient(url: string, max: number) {
  return postgres(url, {
    max,
    connect_timeout: 3,
    idle_timeout: 30,
    prepare: true,
    onnotice: () => {},
    // Our ids and counts fit in 2^53: read int8 as a number, not a string, in raw queries too.
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

export const sqlClient = createClient(config.DATABASE_URL, config.DB_POOL_SIZE);
export const db = drizzle(sqlClient, { schema });
export type Db = typeof db;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
/** Either the pool or an open transaction: repo functions accept both. */
export type Executor = Db | Tx;

/** Analytics may read from a replica; booking never does. */
export const readSqlClient =
  config.DATABASE_READ_URL === config.DATABASE_URL
    ? sqlClient
    : createClient(config.DATABASE_READ_URL, Math.max(2, Math.floor(config.DB_POOL_SIZE / 2)));
export const readDb = readSqlClient === sqlClient ? db : drizzle(readSqlClient, { schema });

export async function closeDb(): Promise<void> {
  await sqlClient.end({ timeout: 5 });
  if (readSqlClient !== sqlClient) await readSqlClient.end({ timeout: 5 });
}
