import { count, eq, isNull, sql } from "drizzle-orm";
import { users } from "../../db/schema";
import { db, type Executor } from "../../platform/db";

export type UserRow = typeof users.$inferSelect;

export async function insertUser(
  input: { email: string; fullName: string | null; hashedPassword: string; isAdmin: boolean },
  ex: Executor = db,
): Promise<UserRow | undefined> {
  const [row] = await ex.insert(users).values(input).onConflictDoNothing({ target: users.email }).returning();
  return row;
}

export async function findUserByEmail(email: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.email, email)).limit(1);
  return row?.deletedAt ? undefined : row;
}

export async function findUserById(id: number): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row?.deletedAt ? undefined : row;
}

export async function listUsers(limit: number, offset: number): Promise<{ rows: UserRow[]; total: number }> {
  const live = isNull(users.deletedAt);
  const [rows, [totals]] = await Promise.all([
    db.select().from(users).where(live).orderBy(users.id).limit(limit).offset(offset),
    db.select({ total: count() }).from(users).where(live),
  ]);
  return { rows, total: totals?.total ?? 0 };
}

export async function updateUser(
  id: number,
  changes: { fullName?: string | null; hashedPassword?: string },
): Promise<UserRow | undefined> {
  const [row] = await db
    .update(users)
    .set({
      ...changes,
      // A new password invalidates every token issued before it.
      ...(changes.hashedPassword ? { tokenVersion: sql`${users.tokenVersion} + 1` } : {}),
    })
    .where(eq(users.id, id))
    .returning();
  return row;
}

/** Makes the account an admin; with a new password hash, its old tokens stop working too. */
export async function promoteToAdmin(email: string, hashedPassword?: string): Promise<UserRow | undefined> {
  const [row] = await db
    .update(users)
    .set(
      hashedPassword
        ? { isAdmin: true, hashedPassword, tokenVersion: sql`${users.tokenVersion} + 1` }
        : { isAdmin: true },
    )
    .where(eq(users.email, email))
    .returning();
  return row;
}

/** The first live admin's e-mail, if any account is an admin (start-up says whether one exists). */
export async function firstAdminEmail(): Promise<string | undefined> {
  const [row] = await db
    .select({ email: users.email })
    .from(users)
    .where(sql`${users.isAdmin} and ${users.deletedAt} is null`)
    .orderBy(users.id)
    .limit(1);
  return row?.email;
}
