import { config } from "../../config";
import type { NotificationPayload } from "../../messaging/catalog";
import type { StreamEntry } from "../../messaging/consumer";
import { runOnce } from "../../messaging/once";
import type { Logger } from "../../platform/logger";
import { sendMailgun } from "./mailgun";

/**
 * What the notifier worker runs: delivers a `notifications` entry by e-mail (Mailgun), or logs it
 * when Mailgun is not configured. Each dedupe key is sent at most once across redeliveries and
 * replicas.
 */
export async function deliverNotification(entry: StreamEntry<NotificationPayload>, log: Logger): Promise<void> {
  const n = entry.payload;
  const outcome = await runOnce(`notifications:sent:${n.dedupe_key}`, async () => {
    // Recipients and message texts are personal data: info lines name the notification only; the
    // message itself is logged at debug level, for development without Mailgun.
    if (!config.MAILGUN_ENABLED) {
      log.info({ kind: n.kind, dedupe_key: n.dedupe_key }, "notification not sent: Mailgun not configured");
      log.debug(
        { to: n.to, subject: n.subject, kind: n.kind, text: n.text },
        "notification (Mailgun not configured): message",
      );
      return;
    }
    const mailgunId = await sendMailgun(n);
    log.info({ kind: n.kind, dedupe_key: n.dedupe_key, mailgun_id: mailgunId }, "notification e-mailed");
  });
  if (outcome === "duplicate") log.info({ dedupe_key: n.dedupe_key }, "notification already sent; skipped");
}
