import { z } from "@hono/zod-openapi";
import type { UserRow } from "./users.repo";

const utf8Bytes = (s: string) => Buffer.byteLength(s, "utf8");

/** 8..72 bytes: bcrypt ignores everything past byte 72, so longer passwords are refused. */
export const PasswordSchema = z
  .string()
  .refine((s) => utf8Bytes(s) >= 8, "must be at least 8 bytes")
  .refine((s) => utf8Bytes(s) <= 72, "must be at most 72 bytes");

export const EmailSchema = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((s) => s.toLowerCase())
  .openapi({ example: "user@example.com" });

export const FullNameSchema = z.string().trim().max(200).nullish();

export const UserSchema = z
  .object({
    id: z.number().int(),
    email: z.string(),
    full_name: z.string().nullable(),
    is_admin: z.boolean(),
    created_at: z.string(),
  })
  .openapi("User");

export type UserDto = z.infer<typeof UserSchema>;

export function toUserDto(row: UserRow): UserDto {
  return {
    id: row.id,
    email: row.email,
    full_name: row.fullName,
    is_admin: row.isAdmin,
    created_at: row.createdAt.toISOString(),
  };
}

export const UpdateMeSchema = z
  .object({
    full_name: FullNameSchema,
    password: PasswordSchema.optional(),
    current_password: z.string().max(1024).optional(),
  })
  .openapi("UpdateMe");

export const PaginationQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});
