import type { AuthUser } from "../../domain/auth-user";
import { DomainError, ErrorCode } from "../../domain/errors";
import { beginLoginAttempt } from "../../http/login-throttle";
import { accessTokenTtlSeconds, revokeTokensOf, signAccessToken } from "../../http/tokens";
import { logger } from "../../platform/logger";
import { hashPassword, verifyPassword } from "../../platform/passwords";
import { toUserDto, type UserDto } from "../users/users.schemas";
import { createUser, findUserByEmail, promoteToAdmin } from "../users/users.service";

export async function registerUser(
  input: { email: string; full_name?: string | null; password: string; is_admin: boolean },
  actor: AuthUser | undefined,
): Promise<UserDto> {
  if (input.is_admin && !actor?.isAdmin)
    throw new DomainError(ErrorCode.FORBIDDEN, "Only an admin can create another admin.");
  const row = await createUser({
    email: input.email,
    fullName: input.full_name ?? null,
    hashedPassword: await hashPassword(input.password),
    isAdmin: input.is_admin,
  });
  if (!row) throw new DomainError(ErrorCode.EMAIL_TAKEN, "An account with this e-mail already exists.");
  return toUserDto(row);
}

/**
 * Unknown e-mail and wrong password take the same path: one bcrypt compare, one 401.
 * Repeated failures for one account or from one client IP are throttled (429).
 */
export async function issueToken(username: string, password: string, clientIp?: string) {
  const attempt = await beginLoginAttempt(username, clientIp);
  const user = await findUserByEmail(username.toLowerCase());
  const ok = await verifyPassword(password, user?.hashedPassword);
  await attempt.settle(Boolean(user && ok));
  if (!user || !ok) {
    throw new DomainError(ErrorCode.INVALID_CREDENTIALS, "Incorrect e-mail or password.");
  }
  return {
    access_token: await signAccessToken(user),
    token_type: "bearer" as const,
    expires_in: accessTokenTtlSeconds(),
  };
}

/**
 * Makes sure the operator's account exists and is an admin.
 * - At start-up (`resetPassword: false`) an existing account is made admin only if it proves it is
 *   the operator's: its password is ADMIN_PASSWORD. Otherwise someone may have registered that
 *   address first, so it is left as it is and the refusal is logged. A password changed through
 *   PATCH /users/me survives restarts.
 * - `bun run create-admin` (`resetPassword: true`) is the operator's explicit take-over: it sets
 *   ADMIN_PASSWORD and admin rights.
 * Every promotion bumps the token version, so tokens issued before it stop working.
 */
export async function ensureAdmin(
  email: string,
  password: string,
  opts: { resetPassword: boolean },
): Promise<"created" | "promoted" | "unchanged" | "password reset" | "refused"> {
  const normalized = email.toLowerCase();
  const existing = await findUserByEmail(normalized);
  if (!existing) {
    const hashed = await hashPassword(password);
    const created = await createUser({
      email: normalized,
      fullName: "Administrator",
      hashedPassword: hashed,
      isAdmin: true,
    });
    if (created) return "created";
  }
  const current = existing ?? (await findUserByEmail(normalized));
  if (!current) throw new Error(`could not create or find ${normalized}`);
  const proven = await verifyPassword(password, current.hashedPassword);
  if (opts.resetPassword && !proven) {
    await promoteToAdmin(normalized, await hashPassword(password));
    await revokeTokensOf(current.id);
    return "password reset";
  }
  if (current.isAdmin) return "unchanged";
  if (!proven) {
    logger.error(
      { variable: "ADMIN_EMAIL", email: normalized },
      "ADMIN_EMAIL names an existing account whose password is not ADMIN_PASSWORD: not made admin. " +
        "Run `bun run create-admin` to take it over explicitly.",
    );
    return "refused";
  }
  await promoteToAdmin(normalized, current.hashedPassword);
  await revokeTokensOf(current.id);
  return "promoted";
}
