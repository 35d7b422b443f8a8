import type { AuthUser } from "../../domain/auth-user";
import { DomainError, ErrorCode } from "../../domain/errors";
import { beginLoginAttempt } from "../../http/login-throttle";
import { revokeTokensOf } from "../../http/tokens";
import { sql } from "../../platform/db";
import { hashPassword, verifyPassword } from "../../platform/passwords";
import * as repo from "./users.repo";
import { toUserDto, type UserDto } from "./users.schemas";

export async function getUser(actor: AuthUser, id: number): Promise<UserDto> {
  if (actor.id !== id && !actor.isAdmin)
    throw new DomainError(ErrorCode.FORBIDDEN, "You can only read your own account.");
  const row = await repo.findUserById(sql, id);
  if (!row) throw new DomainError(ErrorCode.USER_NOT_FOUND, `User ${id} does not exist.`);
  return toUserDto(row);
}

export async function listAllUsers(limit: number, offset: number) {
  const { rows, total } = await repo.listUsers(sql, limit, offset);
  return { users: rows.map(toUserDto), total };
}

export async function updateMe(
  actor: AuthUser,
  input: { full_name?: string | null; password?: string; current_password?: string },
  clientIp?: string,
): Promise<UserDto> {
  const changes: { fullName?: string | null; hashedPassword?: string } = {};
  if (input.full_name !== undefined) changes.fullName = input.full_name;
  if (input.password !== undefined) {
    // A stolen token must not turn into a password oracle: guesses count like login failures.
    const attempt = await beginLoginAttempt(actor.email, clientIp);
    const row = await repo.findUserById(sql, actor.id);
    const ok =
      input.current_password !== undefined && (await verifyPassword(input.current_password, row?.hashedPassword));
    await attempt.settle(ok);
    if (!ok) {
      throw new DomainError(ErrorCode.WRONG_PASSWORD, "current_password is missing or wrong.");
    }
    changes.hashedPassword = await hashPassword(input.password);
  }
  const row = await repo.updateUser(sql, actor.id, changes);
  if (!row) throw new DomainError(ErrorCode.USER_NOT_FOUND, "Your account no longer exists.");
  await revokeTokensOf(actor.id);
  return toUserDto(row);
}

/** The identity a token's subject has now, for the auth middleware (undefined once deleted). */
export async function loadTokenUser(id: number) {
  const row = await repo.findUserById(sql, id);
  return row && { id: row.id, email: row.email, isAdmin: row.isAdmin, tokenVersion: row.tokenVersion };
}

/** For auth: the live account with this (lower-case) e-mail, if any. */
export const findUserByEmail = (email: string) => repo.findUserByEmail(sql, email);

/** For auth: creates an account; undefined when the e-mail is taken. */
export const createUser = (input: Parameters<typeof repo.insertUser>[1]) => repo.insertUser(sql, input);

/** For auth's first-admin rule: makes the account an admin (and, with a hash, sets its password). */
export const promoteToAdmin = (email: string, hashedPassword?: string) =>
  repo.promoteToAdmin(sql, email, hashedPassword);

/** The first live admin's e-mail, if any account is an admin. */
export const firstAdminEmail = () => repo.firstAdminEmail(sql);
