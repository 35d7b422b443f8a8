import { config } from "../../config";
import { PermanentError, RetryableError } from "../../messaging/handler-errors";
import { errorMessage } from "../../platform/error-message";

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

// Under the worker's 8 s shutdown grace (so SIGTERM never cuts a send short), the 20 s claim of
// runOnce and the stream visibility timeout.
const TIMEOUT_MS = 5_000;

/**
 * Sends one e-mail through Mailgun's HTTP API and returns Mailgun's message id. Throws
 * RetryableError for what may pass (network errors, timeouts, 5xx, 408, 429) and PermanentError
 * for what will not (other 4xx: bad key, bad domain, bad recipient).
 */
export async function sendMailgun(message: MailMessage): Promise<string | undefined> {
  const key = config.MAILGUN_API_KEY;
  const domain = config.MAILGUN_DOMAIN;
  if (!key || !domain) throw new PermanentError("Mailgun is not configured");
  const url = `${config.MAILGUN_BASE_URL.replace(/\/+$/, "")}/v3/${encodeURIComponent(domain)}/messages`;
  const body = new URLSearchParams({
    from: `Evently <no-reply@${domain}>`,
    to: message.to,
    subject: message.subject,
    text: message.text,
  });
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { authorization: `Basic ${Buffer.from(`api:${key}`).toString("base64")}` },
      body,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new RetryableError(`Mailgun unreachable: ${errorMessage(err)}`, { cause: err });
  }
  if (res.ok) {
    const json = (await res.json().catch(() => ({}))) as { id?: string };
    return json.id;
  }
  const detail = (await res.text().catch(() => "")).slice(0, 300);
  if (res.status >= 500 || res.status === 408 || res.status === 429) {
    throw new RetryableError(`Mailgun answered ${res.status}: ${detail}`);
  }
  throw new PermanentError(`Mailgun refused the message with ${res.status}: ${detail}`);
}
