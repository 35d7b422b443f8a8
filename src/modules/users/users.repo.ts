import type { users } from "../../db/schema";
import type { Executor } from "../../platform/db";

export type UserRow = typeof users.$inferSelect;

export async function insertUser(
  ex: Executor,
  input: Pick<UserRow, "email" | "fullName" | "hashedPassword" | "isAdmin">,
): Promise<UserRow | undefined> {
  const [row] = await ex<UserRow[]>`
    insert into users ${ex(input, "email", "fullName", "hashedPassword", "isAdmin")}
    on conflict (email) do nothing
    returning *`;
  return row;
}

export async function findUserByEmail(ex: Executor, email: string): Promise<UserRow | undefined> {
  const [row] = await ex<UserRow[]>`select * from users where email = ${email} limit 1`;
  return row?.deletedAt ? undefined : row;
}

export async function findUserById(ex: Executor, id: number): Promise<UserRow | undefined> {
  const [row] = await ex<UserRow[]>`select * from users where id = ${id} limit 1`;
  return row?.deletedAt ? undefined : row;
}

export async function listUsers(
  ex: Executor,
  limit: number,
  offset: number,
): Promise<{ rows: UserRow[]; total: number }> {
  const [rows, [totals]] = await Promise.all([
    ex<UserRow[]>`select * from users where deleted_at is null order by id limit ${limit} offset ${offset}`,
    ex<{ total: number }[]>`select count(*)::int as total from users where deleted_at is null`,
  ]);
  return { rows: [...rows], total: totals?.total ?? 0 };
}

/** Changes the given fields; a column left out keeps its value (the statement stays valid SQL). */
export async function updateUser(
  ex: Executor,
  id: number,
  changes: { fullName?: string | null; hashedPassword?: string },
): Promise<UserRow | undefined> {
  // A new password invalidates every token issued before it.
  const [row] = await ex<UserRow[]>`
    update users set
      full_name = ${changes.fullName === undefined ? ex`full_name` : changes.fullName},
      hashed_password = ${changes.hashedPassword ?? ex`hashed_password`},
      token_version = token_version + ${changes.hashedPassword ? 1 : 0}
    where id = ${id}
    returning *`;
  return row;
}

/** Makes the account an admin; with a new password hash, its old tokens stop working too. */
export async function promoteToAdmin(
  ex: Executor,
  email: string,
  hashedPassword?: string,
): Promise<UserRow | undefined> {
  const [row] = hashedPassword
    ? await ex<UserRow[]>`
        update users set is_admin = true, hashed_password = ${hashedPassword}, token_version = token_version + 1
        where email = ${email}
        returning *`
    : await ex<UserRow[]>`update users set is_admin = true where email = ${email} returning *`;
  return row;
}

/** The first live admin's e-mail, if any account is an admin (start-up says whether one exists). */
export async function firstAdminEmail(ex: Executor): Promise<string | undefined> {
  const [row] = await ex<Pick<UserRow, "email">[]>`
    select email from users where is_admin and deleted_at is null order by id limit 1`;
  return row?.email;
}
