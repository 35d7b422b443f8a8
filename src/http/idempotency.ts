import { createHash } from "node:crypto";
import type { idempotencyKeys } from "../db/schema-messaging";
import { DomainError, ErrorCode, type FieldError } from "../domain/errors";
import { type Executor, sql, type Tx } from "../platform/db";
import type { Logger } from "../platform/logger";
import { statusOf } from "./problem";

export interface StoredResponse {
  status: number;
  body: unknown;
  replayed: boolean;
}

const JSON_OID = 114;

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
 * Runs `work`, which must be atomic on its own (one statement, or its own transaction), on the
 * executor it is given. Without an Idempotency-Key that is the pool: a one-statement booking is
 * one round trip. With a key, the key row is claimed first in a transaction: a concurrent request
 * with the same key waits on the row's unique index until the first commits, then answers from
 * the stored response. The work then runs under a savepoint of that transaction, so a refusal (a
 * DomainError answered with a 4xx) rolls back only the work and is stored in the claimed row by
 * the same transaction: the stored answer is always the one the first caller got. 24 h, per user.
 */
export async function runIdempotent(
  scope: { userId: number; key: string | undefined; fingerprint: string },
  work: (ex: Executor) => Promise<{ status: number; body: unknown }>,
): Promise<StoredResponse> {
  const { userId, key } = scope;
  if (key === undefined) {
    return { ...(await work(sql)), replayed: false };
  }
  // A json (not jsonb) parameter: postgres.js sends JSON.stringify(body), stored as that text.
  const store = (tx: Tx, status: number, body: unknown) =>
    tx`
      update idempotency_keys set status_code = ${status}, response_body = ${tx.typed(body, JSON_OID)}::json
      where user_id = ${userId} and key = ${key}`;
  let outcome: { result: { status: number; body: unknown } } | { refusal: DomainError };
  try {
    outcome = await sql.begin(async (tx) => {
      const claimed = await tx`
        insert into idempotency_keys (user_id, key, request_hash, status_code, response_body, expires_at)
        values (${userId}, ${key}, ${scope.fingerprint}, 0, 'null', now() + interval '24 hours')
        on conflict (user_id, key) do update
          set request_hash = excluded.request_hash, status_code = 0, response_body = 'null',
              created_at = now(), expires_at = excluded.expires_at
          where idempotency_keys.expires_at < now()
        returning 1`;
      if (claimed.length === 0) throw new Replay(await readStored(tx, userId, key, scope.fingerprint));
      try {
        const result = await tx.savepoint((savepoint) => work(savepoint));
        await store(tx, result.status, result.body);
        return { result };
      } catch (err) {
        if (!(err instanceof DomainError) || statusOf(err.code) >= 500) throw err;
        await store(tx, statusOf(err.code), refusalBody(err));
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

type StoredRow = Pick<typeof idempotencyKeys.$inferSelect, "requestHash" | "statusCode" | "responseBody">;

async function readStored(tx: Tx, userId: number, key: string, hash: string): Promise<StoredResponse> {
  const [row] = await tx<StoredRow[]>`
    select request_hash, status_code, response_body from idempotency_keys where user_id = ${userId} and key = ${key}`;
  if (!row) throw new Error("idempotency record vanished");
  if (row.requestHash !== hash) {
    throw new DomainError(
      ErrorCode.IDEMPOTENCY_KEY_REUSED,
      "This Idempotency-Key was already used with a different request.",
    );
  }
  return { status: row.statusCode, body: row.responseBody, replayed: true };
}

const refusalBody = (err: DomainError) => ({
  code: err.code,
  detail: err.detail,
  errors: err.errors,
  retry_after_seconds: err.retryAfterSeconds,
});

/** Rebuilds the DomainError of a stored refusal so it renders as the first time, marked as replayed. */
export function refusalFrom(stored: StoredResponse): DomainError | undefined {
  if (stored.status < 400) return undefined;
  const b = stored.body as { code: ErrorCode; detail: string; errors?: FieldError[]; retry_after_seconds?: number };
  return new DomainError(b.code, b.detail, {
    errors: b.errors,
    retryAfterSeconds: b.retry_after_seconds,
    replayed: true,
  });
}

/** Deletes up to `limit` expired keys (purgeIdempotencyKeys runs it in a loop); returns how many went. */
export async function purgeExpiredKeys(limit = 1_000): Promise<number> {
  const rows = await sql`
    delete from idempotency_keys where ctid in (
      select ctid from idempotency_keys where expires_at < now() limit ${limit})
    returning 1`;
  return rows.length;
}

/** The maintenance worker's job: purges every expired key, a batch at a time. */
export async function purgeIdempotencyKeys(log: Logger): Promise<void> {
  let total = 0;
  for (let n = await purgeExpiredKeys(); n > 0; n = await purgeExpiredKeys()) total += n;
  if (total > 0) log.info({ purged: total }, "expired idempotency keys purged");
}
