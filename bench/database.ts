import postgres from "postgres";

/** The bench's own database: created fresh for a run, dropped after it. Never any other one. */

const SAFE_NAME = /^evently_bench[a-z0-9_]{0,40}$/;

export function assertBenchDatabaseName(name: string): void {
  if (!SAFE_NAME.test(name)) {
    throw new Error(`refusing database name "${name}": the bench only uses names matching ${SAFE_NAME}`);
  }
}

export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function onMaintenance(url: string, statement: string): Promise<void> {
  const sql = postgres(withDatabase(url, "postgres"), { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(statement);
  } finally {
    await sql.end();
  }
}

export async function recreateDatabase(url: string, name: string): Promise<string> {
  assertBenchDatabaseName(name);
  await onMaintenance(url, `drop database if exists "${name}" with (force)`);
  await onMaintenance(url, `create database "${name}"`);
  return withDatabase(url, name);
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  assertBenchDatabaseName(name);
  await onMaintenance(url, `drop database if exists "${name}" with (force)`);
}

export type Sql = postgres.Sql;

/** Reads rows as the app does: camelCase columns, typed from the schema. */
export function connect(url: string): Sql {
  return postgres(url, {
    max: 4,
    onnotice: () => {},
    transform: { column: { from: postgres.toCamel, to: postgres.fromCamel } },
    connection: { application_name: "evently-bench" },
  });
}
