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
    if (!config.MAILGUN_ENABLED) {
      log.info(
        { to: n.to, subject: n.subject, kind: n.kind, text: n.text },
        "notification (Mailgun not configured: logged only)",
      );
      return;
    }
    const mailgunId = await sendMailgun(n);
    log.info({ to: n.to, kind: n.kind, mailgun_id: mailgunId }, "notification e-mailed");
  });
  if (outcome === "duplicate") log.info({ dedupe_key: n.dedupe_key }, "notification already sent; skipped");
}
