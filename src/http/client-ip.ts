import type { Context } from "hono";
import { getConnInfo } from "hono/bun";
import { config } from "../config";
import { parseTrustedProxies, resolveClientIp } from "./ip-address";

const trustedProxies = parseTrustedProxies(config.TRUSTED_PROXIES);

function peerAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    // No Bun server in c.env: an in-process request.
    return undefined;
  }
}

const resolved = new WeakMap<Request, string>();

/**
 * The caller's IP as far as we can trust it: the TCP peer, or X-Forwarded-For when the peer is
 * one of TRUSTED_PROXIES. Computed once per request (the limiter and login throttle both ask).
 */
export function clientIp(c: Context): string {
  let ip = resolved.get(c.req.raw);
  if (ip === undefined) {
    ip = resolveClientIp(peerAddress(c), c.req.header("x-forwarded-for"), trustedProxies);
    resolved.set(c.req.raw, ip);
  }
  return ip;
}
