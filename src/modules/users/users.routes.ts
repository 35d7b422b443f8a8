import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly, authed } from "../../http/auth";
import { problems } from "../../http/openapi";
import { idParam, jsonContent, pagedJsonContent } from "../../http/router";
import { PaginationQuery, UpdateMeSchema, UserSchema } from "./users.schemas";

const tags = ["Users"];

export const getMe = createRoute({
  method: "get",
  path: "/users/me",
  operationId: "getMe",
  summary: "The caller's account",
  tags,
  ...authed(),
  responses: { 200: jsonContent(UserSchema, "The caller's account"), ...problems(401) },
});

export const patchMe = createRoute({
  method: "patch",
  path: "/users/me",
  operationId: "updateMe",
  summary: "Change the caller's name or password",
  tags,
  ...authed(),
  request: { body: { required: true, content: { "application/json": { schema: UpdateMeSchema } } } },
  responses: { 200: jsonContent(UserSchema, "The updated account"), ...problems(400, 401, 403) },
});

export const getUserById = createRoute({
  method: "get",
  path: "/users/{id}",
  operationId: "getUser",
  summary: "One account (self or admin)",
  tags,
  ...authed(),
  request: { params: z.object({ id: idParam("id") }) },
  responses: { 200: jsonContent(UserSchema, "The user"), ...problems(401, 403, 404) },
});

export const listUsersRoute = createRoute({
  method: "get",
  path: "/users",
  operationId: "listUsers",
  summary: "List accounts (admin)",
  tags,
  ...adminOnly(),
  request: { query: PaginationQuery },
  responses: {
    200: pagedJsonContent(UserSchema, "Users ordered by id"),
    ...problems(401, 403),
  },
});
