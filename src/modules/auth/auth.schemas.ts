import { z } from "@hono/zod-openapi";
import { EmailSchema, FullNameSchema, PasswordSchema } from "../users/users.schemas";

export const RegisterSchema = z
  .object({
    email: EmailSchema,
    full_name: FullNameSchema,
    password: PasswordSchema,
    is_admin: z.boolean().optional().default(false),
  })
  .openapi("Register");

export const LoginSchema = z
  .object({
    username: z.string().trim().min(1).max(254).openapi({ description: "The account's e-mail" }),
    password: z.string().min(1).max(1024),
  })
  .openapi("Login");

export const TokenSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal("bearer"),
    expires_in: z.number().int().openapi({ description: "Seconds until the token expires" }),
  })
  .openapi("Token");
