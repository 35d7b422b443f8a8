import { errorMessage } from "../../platform/error-message";
import { checkWebhookUrl } from "./webhooks.url-guard";

/** One HTTP attempt of a webhook delivery, and what came of it. */

/** Stored and shown per attempt: enough to debug a receiver, never a large body. */
export const RESPONSE_BODY_CAP_BYTES = 1024;

export interface AttemptOutcome {
  /** A 2xx answer. */
  ok: boolean;
  /** 410 Gone: the receiver says the endpoint is gone for good. */
  gone: boolean;
  status: number | null;
  body: string | null;
  error: string | null;
}

export interface AttemptOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  /** Aborted when the dispatcher stops. */
  signal?: AbortSignal;
}

/** Reads at most `cap` bytes of the body, then drops the rest of the stream. */
async function readCapped(res: Response, cap: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < cap) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, cap).toString("utf8");
}

/**
 * POSTs the body. The URL is checked again here, after DNS resolution, so a host that now
 * resolves to a private address is refused (WEBHOOK_ALLOW_PRIVATE aside). Redirects are never
 * followed (a 3xx is a failed attempt); the whole attempt, body included, has `timeoutMs`.
 */
export async function attemptDelivery(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: AttemptOptions,
): Promise<AttemptOutcome> {
  const verdict = await checkWebhookUrl(url, opts.allowPrivate);
  if (!verdict.ok)
    return { ok: false, gone: false, status: null, body: null, error: `refused: the URL ${verdict.reason}` };
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  try {
    const res = await fetch(verdict.url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "Evently-Webhooks/1.0", ...headers },
      body,
      redirect: "manual",
      signal,
    });
    const text = await readCapped(res, RESPONSE_BODY_CAP_BYTES);
    const ok = res.status >= 200 && res.status < 300;
    const error = ok
      ? null
      : res.status >= 300 && res.status < 400
        ? `redirect (${res.status}) not followed`
        : `HTTP ${res.status}`;
    return { ok, gone: res.status === 410, status: res.status, body: text, error };
  } catch (err) {
    const reason = timeout.aborted ? `timed out after ${opts.timeoutMs} ms` : errorMessage(err);
    return { ok: false, gone: false, status: null, body: null, error: reason };
  }
}
