import { BlockList, isIP } from "node:net";

/**
 * Requests served without a socket (in-process `app.request()`) have no peer. They are treated
 * as one untrusted client, so a header can never make them look like someone else.
 */
export const UNKNOWN_CLIENT = "unknown";

/** TRUSTED_PROXIES entries: addresses or CIDRs, IPv4 or IPv6 (config.ts has validated them). */
export function parseTrustedProxies(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = "", prefix] = entry.split("/");
    const family = isIP(address);
    if (family === 0) throw new Error(`TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR`);
    const type = family === 4 ? "ipv4" : "ipv6";
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

/** BlockList also matches IPv4-mapped IPv6 (::ffff:10.0.0.1) against IPv4 rules. */
export function isTrusted(trusted: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return trusted.check(address, family === 4 ? "ipv4" : "ipv6");
}

/**
 * The client behind a trusted peer: walk X-Forwarded-For from the right (the entries our own
 * proxies appended) and stop at the first address that is not a trusted proxy. Everything to
 * the left of it was written by the client and proves nothing.
 */
export function resolveClientIp(peer: string | undefined, forwardedFor: string | undefined, trusted: BlockList) {
  if (!peer) return UNKNOWN_CLIENT;
  if (!forwardedFor || !isTrusted(trusted, peer)) return peer;
  let client = peer;
  const hops = forwardedFor.split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = stripPort(hops[i]?.trim() ?? "");
    if (isIP(hop) === 0) break;
    client = hop;
    if (!isTrusted(trusted, hop)) break;
  }
  return client;
}

/** "1.2.3.4:5678" and "[::1]:5678" are seen in the wild; bare IPv6 has many colons. */
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1] as string;
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4WithPort ? (v4WithPort[1] as string) : hop;
}

/**
 * The key a client's limits are counted under. IPv6 clients usually own a whole /64, so one
 * key per /64: otherwise a client could rotate addresses for a fresh budget on every request.
 */
export function limitSubject(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1] as string;
  if (!ip.includes(":")) return ip;
  const bare = ip.split("%")[0] as string;
  const [head = "", tail] = bare.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(Math.max(0, missing)).fill("0"), ...right];
  const prefix = groups.slice(0, 4).map((g) => Number.parseInt(g || "0", 16).toString(16));
  return `${prefix.join(":")}::/64`;
}
