import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

/**
 * SSRF guard: a webhook may only reach the public internet. A URL is refused when it is not
 * http(s), carries credentials, or when its host is, or resolves to, an address in one of these
 * ranges (checked when a subscription is created or changed, and again before every attempt,
 * after DNS resolution). WEBHOOK_ALLOW_PRIVATE=true turns the address check off.
 */
// One list per family: a BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules too.
const blocked4 = new BlockList();
const blocked6 = new BlockList();
for (const [net, bits] of [
  ["0.0.0.0", 8], // "this network"
  ["10.0.0.0", 8], // private
  ["100.64.0.0", 10], // CGNAT (also Alibaba's metadata 100.100.100.200)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, cloud metadata 169.254.169.254
  ["172.16.0.0", 12], // private
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.168.0.0", 16], // private
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
  ["168.63.129.16", 32], // Azure's host endpoint
] as const) {
  blocked4.addSubnet(net, bits, "ipv4");
}
for (const [net, bits] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["::ffff:0:0", 96], // IPv4-mapped: would reach any IPv4 address, private ones included
  ["64:ff9b::", 96], // NAT64: likewise
  ["fc00::", 7], // unique local (also AWS's metadata fd00:ec2::254)
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
] as const) {
  blocked6.addSubnet(net, bits, "ipv6");
}

export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return family === 4 ? blocked4.check(address, "ipv4") : blocked6.check(address, "ipv6");
}

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

/** The rules that need no DNS: scheme, credentials, a host. */
export function checkUrlShape(raw: string): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "is not a URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { ok: false, reason: "must be http or https" };
  if (url.username || url.password) return { ok: false, reason: "must not carry credentials" };
  if (!url.hostname) return { ok: false, reason: "has no host" };
  return { ok: true, url };
}

/**
 * Every rule: the shape, then each address the host resolves to must be public (unless
 * `allowPrivate`). One private address among several refuses the URL: the client may pick any.
 */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<UrlVerdict> {
  const shape = checkUrlShape(raw);
  if (!shape.ok || allowPrivate) return shape;
  const host = shape.url.hostname.replace(/^\[(.*)\]$/, "$1");
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      return { ok: false, reason: `host ${host} does not resolve` };
    }
  }
  const bad = addresses.find(isBlockedAddress);
  if (bad !== undefined) {
    return { ok: false, reason: `resolves to ${bad}, a loopback, private, link-local or metadata address` };
  }
  return shape;
}
