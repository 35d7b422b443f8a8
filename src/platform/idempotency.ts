import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import { AppError, ErrorCode } from "../domain/errors";
import { db, type Tx } from "./db";
import type { Logger } from "./logger";

export interface StoredResponse {
  status: number;
  body: unknown;
  replayed: boolean;
}

const KEY_TTL = sql`interval '24 hours'`;

export function fingerprint(parts: unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** Thrown inside the transaction to leave it (nothing was written) and answer from the record. */
class Replay extends Error {
  constructor(readonly stored: StoredResponse) {
    super("replay");
  }
}

/**
 * Runs `work` in one transaction. With an Idempotency-Key, the key row is claimed first in that
 * same transaction: a concurrent request with the same key waits on the row's unique index until
 * the first commits, then answers from the stored response. The work runs under a savepoint, so
 * a refusal (a 4xx AppError) rolls back only the work and is stored in the claimed row by the
 * same transaction: the stored answer is always the one the first caller got. 24 h, per user.
 */
export async function runIdempotent(
  scope: { userId: number; key: string | undefined; fingerprint: string },
  work: (tx: Tx) => Promise<{ status: number; body: unknown }>,
): Promise<StoredResponse> {
  const { userId, key } = scope;
  if (key === undefined) {
    return { ...(await db.transaction(work)), replayed: false };
  }
  const store = (tx: Tx, status: number, body: unknown) =>
    tx.execute(sql`
      update idempotency_keys set status_code = ${status}, response_body = ${JSON.stringify(body)}::json
      where user_id = ${userId} and key = ${key}`);
  let outcome: { result: { status: number; body: unknown } } | { refusal: AppError };
  try {
    outcome = await db.transaction(async (tx) => {
      const claimed = await tx.execute(sql`
        insert into idempotency_keys (user_id, key, request_hash, status_code, response_body, expires_at)
        values (${userId}, ${key}, ${scope.fingerprint}, 0, 'null', now() + ${KEY_TTL})
        on conflict (user_id, key) do update
          set request_hash = excluded.request_hash, status_code = 0, response_body = 'null',
              created_at = now(), expires_at = excluded.expires_at
          where idempotency_keys.expires_at < now()
        returning 1`);
      if (claimed.length === 0) throw new Replay(await readStored(tx, userId, key, scope.fingerprint));
      try {
        const result = await tx.transaction((savepoint) => work(savepoint));
        await store(tx, result.status, result.body);
        return { result };
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        await store(tx, err.status, refusalBody(err));
        return { refusal: err };
      }
    });
  } catch (err) {
    if (err instanceof Replay) return err.stored;
    throw err;
  }
  if ("refusal" in outcome) throw outcome.refusal;
  return { ...outcome.result, replayed: false };
}

async function readStored(tx: Tx, userId: number, key: string, hash: string): Promise<StoredResponse> {
  const [row] = await tx.execute<{ request_hash: string; status_code: number; response_body: unknown }>(sql`
    select request_hash, status_code, response_body from idempotency_keys where user_id = ${userId} and key = ${key}`);
  if (!row) throw new Error("idempotency record vanished");
  if (row.request_hash !== hash) {
    throw new AppError(
      422,
      ErrorCode.IDEMPOTENCY_KEY_REUSED,
      "This Idempotency-Key was already used with a different request.",
    );
  }
  const body = typeof row.response_body === "string" ? JSON.parse(row.response_body) : row.response_body;
  return { status: row.status_code, body, replayed: true };
}

const refusalBody = (err: AppError) => ({
  status: err.status,
  code: err.code,
  detail: err.detail,
  errors: err.errors,
  headers: err.headers,
});

/** Rebuilds the AppError of a stored refusal so it renders exactly as the first time. */
export function refusalFrom(stored: StoredResponse): AppError | undefined {
  if (stored.status < 400) return undefined;
  const b = stored.body as {
    status: number;
    code: ErrorCode;
    detail: string;
    errors?: [];
    headers?: Record<string, string>;
  };
  return new AppError(b.status, b.code, b.detail, b.errors, { ...b.headers, "idempotent-replayed": "true" });
}

/** Deletes up to `limit` expired keys (purgeIdempotencyKeys runs it in a loop); returns how many went. */
export async function purgeExpiredKeys(limit = 1_000): Promise<number> {
  const rows = await db.execute(sql`
    delete from idempotency_keys where ctid in (
      select ctid from idempotency_keys where expires_at < now() limit ${limit})
    returning 1`);
  return rows.length;
}

/** The maintenance worker's job: purges every expired key, a batch at a time. */
export async function purgeIdempotencyKeys(log: Logger): Promise<void> {
  let total = 0;
  for (let n = await purgeExpiredKeys(); n > 0; n = await purgeExpiredKeys()) total += n;
  if (total > 0) log.info({ purged: total }, "expired idempotency keys purged");
}
