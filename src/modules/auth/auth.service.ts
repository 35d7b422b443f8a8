import type { AuthUser } from "../../domain/auth-user";
import { DomainError, ErrorCode } from "../../domain/errors";
import { assertPasswordCapacity, hashPassword, verifyPassword } from "../../platform/passwords";
import { accessTokenTtlSeconds, forgetCachedUser, signAccessToken } from "../../platform/tokens";
import { findUserByEmail, insertUser, promoteToAdmin } from "../users/users.repo";
import { toUserDto, type UserDto } from "../users/users.schemas";
import { beginLoginAttempt } from "./login-throttle";

/** `signal`: the request's; a client that disconnects while its hash waits costs no hash. */
export async function registerUser(
  input: { email: string; full_name?: string | null; password: string; is_admin: boolean },
  actor: AuthUser | undefined,
  signal?: AbortSignal,
): Promise<UserDto> {
  if (input.is_admin && !actor?.isAdmin)
    throw new DomainError(ErrorCode.FORBIDDEN, "Only an admin can create another admin.");
  const row = await insertUser({
    email: input.email,
    fullName: input.full_name ?? null,
    hashedPassword: await hashPassword(input.password, signal),
    isAdmin: input.is_admin,
  });
  if (!row) throw new DomainError(ErrorCode.EMAIL_TAKEN, "An account with this e-mail already exists.");
  return toUserDto(row);
}

/**
 * Unknown e-mail and wrong password take the same path: one bcrypt compare, one 401.
 * Repeated failures for one account or from one client IP are throttled (429). When the password
 * queue is full the answer is 503 before anything is counted or read.
 */
export async function issueToken(username: string, password: string, clientIp?: string, signal?: AbortSignal) {
  assertPasswordCapacity();
  const attempt = await beginLoginAttempt(username, clientIp);
  const user = await findUserByEmail(username.toLowerCase());
  const ok = await verifyPassword(password, user?.hashedPassword, signal);
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
 * Makes sure the account exists and is an admin. At start-up (`resetPassword: false`) an existing
 * account keeps its password, so a password changed through PATCH /users/me survives restarts;
 * `bun run create-admin` passes `resetPassword: true` because an operator asked for it.
 */
export async function ensureAdmin(
  email: string,
  password: string,
  opts: { resetPassword: boolean },
): Promise<"created" | "promoted" | "unchanged" | "password reset"> {
  const normalized = email.toLowerCase();
  const existing = await findUserByEmail(normalized);
  if (!existing) {
    const hashed = await hashPassword(password);
    const created = await insertUser({
      email: normalized,
      fullName: "Administrator",
      hashedPassword: hashed,
      isAdmin: true,
    });
    if (created) return "created";
  }
  const current = existing ?? (await findUserByEmail(normalized));
  if (!current) throw new Error(`could not create or find ${normalized}`);
  if (opts.resetPassword && !(await verifyPassword(password, current.hashedPassword))) {
    await promoteToAdmin(normalized, await hashPassword(password));
    forgetCachedUser(current.id);
    return "password reset";
  }
  if (current.isAdmin) return "unchanged";
  await promoteToAdmin(normalized);
  forgetCachedUser(current.id);
  return "promoted";
}
