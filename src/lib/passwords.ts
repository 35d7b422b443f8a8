import bcrypt from "bcryptjs";
import { config } from "../config";

// Compared against when the e-mail is unknown, so both failures cost one bcrypt check.
const DUMMY_HASH = bcrypt.hashSync("not-a-real-password-0000", config.BCRYPT_COST);

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, config.BCRYPT_COST);
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
  return bcrypt.compare(password, hash ?? DUMMY_HASH).then((ok) => ok && fits && hash !== undefined);
}
