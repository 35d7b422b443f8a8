import { createRoute } from "@hono/zod-openapi";
import { optionallyAuthed } from "../../http/auth";
import { problems } from "../../http/openapi";
import { jsonContent } from "../../http/router";
import { UserSchema } from "../users/users.schemas";
import { LoginSchema, RegisterSchema, TokenSchema } from "./auth.schemas";

const tags = ["Auth"];

export const register = createRoute({
  method: "post",
  path: "/auth/register",
  operationId: "register",
  summary: "Create an account",
  tags,
  description: "Creates an account. `is_admin: true` needs an admin's bearer token (else 403).",
  ...optionallyAuthed(),
  request: { body: { required: true, content: { "application/json": { schema: RegisterSchema } } } },
  responses: { 201: jsonContent(UserSchema, "The new account"), ...problems(400, 401, 403, 409) },
});

export const token = createRoute({
  method: "post",
  path: "/auth/token",
  operationId: "createToken",
  summary: "Log in: exchange e-mail and password for a bearer token",
  tags,
  description: "OAuth2 password flow: form-encoded `username` and `password` (JSON also accepted).",
  request: {
    body: {
      // Not `required`: with two media types the handler picks the one that was sent.
      required: false,
      content: {
        "application/x-www-form-urlencoded": { schema: LoginSchema },
        "application/json": { schema: LoginSchema },
      },
    },
  },
  responses: { 200: jsonContent(TokenSchema, "A bearer token"), ...problems(400, 401, 429) },
});
