import bcrypt from "bcryptjs";
import { config } from "../config";

// Compared against when the e-mail is unknown, so both failures cost one bcrypt check.
const DUMMY_HASH = bcrypt.hashSync("not-a-real-password-0000", config.BCRYPT_COST);

/**
 * bcryptjs does its work in synchronous slices of up to 100 ms (a whole cost-10 hash, ~80 ms, is
 * one slice), each scheduled with setImmediate. With many hashes in flight, one event-loop turn
 * runs every queued slice back to back and reads no socket meanwhile: 100 simultaneous logins
 * stall the process for seconds (cached reads wait, PostgreSQL connects time out). One hash at a
 * time, in arrival order, costs the same CPU and keeps each stall to one slice.
 */
let queueTail: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(work: () => Promise<T>): Promise<T> {
  const turn = queueTail.then(work, work);
  queueTail = turn.catch(() => undefined);
  return turn;
}

export function hashPassword(password: string): Promise<string> {
  return oneAtATime(() => bcrypt.hash(password, config.BCRYPT_COST));
}

/** bcrypt only reads 72 bytes; no stored password is longer (see PasswordSchema). */
export const MAX_PASSWORD_BYTES = 72;

/**
 * A candidate over 72 bytes is wrong by definition. Without this check bcrypt would ignore its
 * tail, so "<the real password>anything" would log in. It still pays one compare, so the
 * answer takes as long as any other wrong password.
 */
export function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  const fits = Buffer.byteLength(password, "utf8") <= MAX_PASSWORD_BYTES;
  return oneAtATime(() => bcrypt.compare(password, hash ?? DUMMY_HASH)).then((ok) => ok && fits && hash !== undefined);
}
