import type { AuthUser } from "../../domain/auth-user";
import { AppError, ErrorCode, forbidden, notFound } from "../../domain/errors";
import { forgetCachedUser } from "../../http/auth";
import { sql } from "../../platform/db";
import { hashPassword, verifyPassword } from "../../platform/passwords";
import { findUserById, listUsers, updateUser } from "./users.repo";
import { toUserDto, type UserDto } from "./users.schemas";

export async function getUser(actor: AuthUser, id: number): Promise<UserDto> {
  if (actor.id !== id && !actor.isAdmin) throw forbidden("You can only read your own account.");
  const row = await findUserById(sql, id);
  if (!row) throw notFound(ErrorCode.USER_NOT_FOUND, `User ${id} does not exist.`);
  return toUserDto(row);
}

export async function listAllUsers(limit: number, offset: number) {
  const { rows, total } = await listUsers(sql, limit, offset);
  return { users: rows.map(toUserDto), total };
}

export async function updateMe(
  actor: AuthUser,
  input: { full_name?: string | null; password?: string; current_password?: string },
): Promise<UserDto> {
  const changes: { fullName?: string | null; hashedPassword?: string } = {};
  if (input.full_name !== undefined) changes.fullName = input.full_name;
  if (input.password !== undefined) {
    const row = await findUserById(sql, actor.id);
    const ok =
      input.current_password !== undefined && (await verifyPassword(input.current_password, row?.hashedPassword));
    if (!ok) {
      throw new AppError(403, ErrorCode.WRONG_PASSWORD, "current_password is missing or wrong.");
    }
    changes.hashedPassword = await hashPassword(input.password);
  }
  const row = await updateUser(sql, actor.id, changes);
  if (!row) throw notFound(ErrorCode.USER_NOT_FOUND, "Your account no longer exists.");
  forgetCachedUser(actor.id);
  return toUserDto(row);
}
