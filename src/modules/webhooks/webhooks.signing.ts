import { createHmac, randomBytes } from "node:crypto";

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of
 * the key; a signature is `v1,` + base64(HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>")),
 * and a header may carry several, space-separated (here: during a secret rotation's grace period).
 *
 * node:crypto rather than the `standardwebhooks` package: the whole scheme is one native HMAC, and
 * the package computes SHA-256 in JavaScript. Its verifier checks our signatures in the tests
 * (tests/webhooks/webhooks-delivery.test.ts), so the two cannot drift apart.
 */

const PREFIX = "whsec_";

/** A new signing secret: 32 random bytes. */
export function newSigningSecret(): string {
  return `${PREFIX}${randomBytes(32).toString("base64")}`;
}

function signOne(secret: string, content: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, "base64");
  return `v1,${createHmac("sha256", key).update(content).digest("base64")}`;
}

/** The `webhook-signature` header value: one `v1,` signature per secret, space-separated. */
export function signatureHeader(secrets: string[], msgId: string, timestampSeconds: number, body: string): string {
  const content = `${msgId}.${timestampSeconds}.${body}`;
  return secrets.map((s) => signOne(s, content)).join(" ");
}
