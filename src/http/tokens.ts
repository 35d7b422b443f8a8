/**
 * Access tokens: HS256 JWTs with `exp` always set and required, checked against the user they name
 * (a deleted user, or a token older than the last password change, is refused).
 */
import { sign, verify } from "hono/jwt";
import { getOrLoad, invalidate, tokenUserEntry, userScope } from "../cache";
import { config } from "../config";
import type { AuthUser } from "../domain/auth-user";
import { DomainError, ErrorCode } from "../domain/errors";

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

type TokenUser = AuthUser & { tokenVersion: number };

/** Who a token's subject is now (undefined once deleted); the users module provides it (see app.ts). */
export type TokenUserLoader = (id: number) => Promise<TokenUser | undefined>;

let loadTokenUser: TokenUserLoader = async () => {
  throw new Error("no token user loader: call useTokenUserLoader() when building the app");
};

export function useTokenUserLoader(loader: TokenUserLoader): void {
  loadTokenUser = loader;
}

/**
 * Tokens are checked against the user they name on every request, through the cache: its
 * in-process tier keeps this off the hot path, and its invalidation reaches every process before
 * it resolves, so once `revokeTokensOf` has returned no process accepts an old token.
 */
async function loadAuthUser(id: number): Promise<TokenUser | undefined> {
  const user = await getOrLoad<TokenUser | null>(tokenUserEntry(id), async () => {
    const loaded = await loadTokenUser(id);
    return loaded
      ? { id: loaded.id, email: loaded.email, isAdmin: loaded.isAdmin, tokenVersion: loaded.tokenVersion }
      : null;
  });
  return user ?? undefined;
}

/** After a password change, promotion or deletion: every process stops accepting older tokens. */
export async function revokeTokensOf(id: number): Promise<void> {
  await invalidate(userScope(id));
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
    throw new DomainError(ErrorCode.UNAUTHORIZED, "The token is invalid or expired.");
  }
  let payload: Record<string, unknown>;
  try {
    payload = (await verify(token, config.JWT_SECRET, { alg: ALG })) as Record<string, unknown>;
  } catch {
    throw new DomainError(ErrorCode.UNAUTHORIZED, "The token is invalid or expired.");
  }
  if (typeof payload.exp !== "number") throw new DomainError(ErrorCode.UNAUTHORIZED, "The token has no expiry.");
  const id = Number(payload.sub);
  if (!Number.isSafeInteger(id) || id < 1)
    throw new DomainError(ErrorCode.UNAUTHORIZED, "The token is invalid or expired.");
  const verified = { id, ver: payload.ver, expMs: payload.exp * 1000 };
  if (verifiedTokens.size >= MAX_VERIFIED_TOKENS) verifiedTokens.clear();
  verifiedTokens.set(token, verified);
  return verified;
}

/** Returns the user a bearer token names, or throws 401. HS256 only; `exp` is required. */
export async function userFromToken(token: string): Promise<AuthUser> {
  const { id, ver } = await verifyToken(token);
  const user = await loadAuthUser(id);
  if (!user || user.tokenVersion !== ver)
    throw new DomainError(ErrorCode.UNAUTHORIZED, "The token is no longer valid.");
  return { id: user.id, email: user.email, isAdmin: user.isAdmin };
}
