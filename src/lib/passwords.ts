import bcrypt from "bcryptjs";
import { config } from "../config";

// Compared against when the e-mail is unknown, so both failures cost one bcrypt check.
const DUMMY_HASH = bcrypt.hashSync("not-a-real-password-0000", config.BCRYPT_COST);

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, config.BCRYPT_COST);
}

export function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  return bcrypt.compare(password, hash ?? DUMMY_HASH).then((ok) => ok && hash !== undefined);
}
