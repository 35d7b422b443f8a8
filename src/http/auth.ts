import { createMiddleware } from "hono/factory";
import { sign, verify } from "hono/jwt";
import { config } from "../config";
import type { AuthUser } from "../domain/auth-user";
import { forbidden, unauthorized } from "../domain/errors";
import { findUserById } from "../modules/users/users.repo";
import { sql } from "../platform/db";
import type { AppEnv } from "./router";

const ALG = "HS256";

export function accessTokenTtlSeconds(): number {
  return config.ACCESS_TOKEN_EXPIRE_MINUTES * 60;
}

export async function signAccessToken(user: { id: number; tokenVersion: number }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    { sub: String(user.id), ver: user.tokenVersion, iat: now, exp: now + accessTokenTtlSeconds() },
    config.JWT_SECRET,
    ALG,
  );
}

interface CachedUser {
  user: AuthUser & { tokenVersion: number };
  until: number;
}

// Tokens are checked against the user row (deleted users and old password versions are refused).
// A short in-process cache keeps that off the hot path; local changes evict it at once.
const USER_CACHE_MS = 5_000;
const userCache = new Map<number, CachedUser>();

export function forgetCachedUser(id: number): void {
  userCache.delete(id);
}

async function loadAuthUser(id: number): Promise<CachedUser["user"] | undefined> {
  const hit = userCache.get(id);
  if (hit && hit.until > Date.now()) return hit.user;
  const row = await findUserById(sql, id);
  if (!row) {
    userCache.delete(id);
    return undefined;
  }
  const user = { id: row.id, email: row.email, isAdmin: row.isAdmin, tokenVersion: row.tokenVersion };
  if (userCache.size > 50_000) userCache.clear();
  userCache.set(id, { user, until: Date.now() + USER_CACHE_MS });
  return user;
}

interface VerifiedToken {
  id: number;
  ver: unknown;
  expMs: number;
}

// Signature checks are pure: a token verified once stays verified until its `exp`, so repeat
// requests skip the HMAC and key import. The user row (deleted? password changed?) is still
// checked on every request through loadAuthUser.
const verifiedTokens = new Map<string, VerifiedToken>();
const MAX_VERIFIED_TOKENS = 50_000;

async function verifyToken(token: string): Promise<VerifiedToken> {
  const known = verifiedTokens.get(token);
  if (known) {
    if (known.expMs > Date.now()) return known;
    verifiedTokens.delete(token);
    throw unauthorized("The token is invalid or expired.");
  }
  let payload: Record<string, unknown>;
  try {
    payload = (await verify(token, config.JWT_SECRET, { alg: ALG })) as Record<string, unknown>;
  } catch {
    throw unauthorized("The token is invalid or expired.");
  }
  if (typeof payload.exp !== "number") throw unauthorized("The token has no expiry.");
  const id = Number(payload.sub);
  if (!Number.isSafeInteger(id) || id < 1) throw unauthorized("The token is invalid or expired.");
  const verified = { id, ver: payload.ver, expMs: payload.exp * 1000 };
  if (verifiedTokens.size >= MAX_VERIFIED_TOKENS) verifiedTokens.clear();
  verifiedTokens.set(token, verified);
  return verified;
}

/** Returns the user a bearer token names, or throws 401. HS256 only; `exp` is required. */
export async function userFromToken(token: string): Promise<AuthUser> {
  const { id, ver } = await verifyToken(token);
  const user = await loadAuthUser(id);
  if (!user || user.tokenVersion !== ver) throw unauthorized("The token is no longer valid.");
  return { id: user.id, email: user.email, isAdmin: user.isAdmin };
}

function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw unauthorized("The Authorization header must be 'Bearer <token>'.");
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
  if (!token) throw unauthorized();
  c.set("user", await userFromToken(token));
  await next();
});

export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  if (!token) throw unauthorized();
  const user = await userFromToken(token);
  if (!user.isAdmin) throw forbidden("This needs an admin account.");
  c.set("user", user);
  await next();
});

/** The authenticated user; only call behind requireAuth/requireAdmin. */
export function currentUser(c: { get(key: "user"): AuthUser | undefined }): AuthUser {
  const user = c.get("user");
  if (!user) throw unauthorized();
  return user;
}
