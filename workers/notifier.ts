import { Streams } from "../src/messaging/catalog";
import { startConsumer } from "../src/messaging/consumer";
import { runWorker } from "../src/messaging/worker-runner";
import { deliverNotification } from "../src/modules/notifications/notifications.jobs";

/** notifier: delivers `notifications` entries by e-mail (Mailgun), or logs them when Mailgun is not configured. */
await runWorker("notifier", () => [
  startConsumer({ stream: Streams.notifications, group: "notifier", handler: deliverNotification }),
]);
