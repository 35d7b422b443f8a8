import { createMiddleware } from "hono/factory";
import type { AuthUser } from "../domain/auth-user";
import { DomainError, ErrorCode } from "../domain/errors";
import { adminSecurity, bearerSecurity, optionalSecurity } from "./openapi";
import type { AppEnv } from "./router";
import { userFromToken } from "./tokens";

function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new DomainError(ErrorCode.UNAUTHORIZED, "The Authorization header must be 'Bearer <token>'.");
  return match[1];
}

/** Sets `user` when a valid token is sent; a present but invalid token is a 401. */
export const optionalAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (token) c.set("user", await userFromToken(token));
  await next();
});

export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw new DomainError(ErrorCode.UNAUTHORIZED, "Not authenticated.");
  c.set("user", await userFromToken(token));
  await next();
});

export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw new DomainError(ErrorCode.UNAUTHORIZED, "Not authenticated.");
  const user = await userFromToken(token);
  if (!user.isAdmin) throw new DomainError(ErrorCode.FORBIDDEN, "This needs an admin account.");
  c.set("user", user);
  await next();
});

/** The authenticated user; only call behind requireAuth/requireAdmin. */
export function currentUser(c: { get(key: "user"): AuthUser | undefined }): AuthUser {
  const user = c.get("user");
  if (!user) throw new DomainError(ErrorCode.UNAUTHORIZED, "Not authenticated.");
  return user;
}

/** Route fields for an operation that needs a signed-in user: `createRoute({ ...authed(), … })`. */
export const authed = () => ({ security: bearerSecurity, middleware: [requireAuth] as [typeof requireAuth] });

/** Route fields for an admin-only operation. */
export const adminOnly = () => ({ security: adminSecurity, middleware: [requireAdmin] as [typeof requireAdmin] });

/** Route fields for an operation open to anyone, where a token (if sent) changes what is allowed. */
export const optionallyAuthed = () => ({
  security: optionalSecurity,
  middleware: [optionalAuth] as [typeof optionalAuth],
});
