import { config } from "../src/config";
import { type NotificationPayload, Streams } from "../src/messaging/catalog";
import { type StreamEntry, startConsumer } from "../src/messaging/consumer";
import { runOnce } from "../src/messaging/once";
import { runWorker } from "../src/messaging/worker-runner";
import { sendMailgun } from "../src/modules/notifications/mailgun";
import type { Logger } from "../src/platform/logger";

/** notifier: delivers `notifications` entries by e-mail (Mailgun), or logs them when Mailgun is not configured. */

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

if (import.meta.main) {
  await runWorker("notifier", () => [
    startConsumer({
      stream: Streams.notifications,
      group: "notifier",
      handler: deliverNotification,
    }),
  ]);
}
