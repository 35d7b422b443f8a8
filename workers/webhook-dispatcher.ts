import { Streams } from "../src/messaging/catalog";
import { startConsumer } from "../src/messaging/consumer";
import { startPeriodic } from "../src/messaging/periodic";
import { runWorker } from "../src/messaging/worker-runner";
import { fanOutDomainEvent, purgeOldDeliveries, startDeliveryLoop } from "../src/modules/webhooks/webhooks.jobs";

/** webhook-dispatcher: turns `domain.events` into signed, retried webhook deliveries. */
await runWorker("webhook-dispatcher", () => [
  startConsumer({ stream: Streams.domainEvents, group: "webhook-dispatcher", handler: fanOutDomainEvent }),
  startDeliveryLoop(),
  startPeriodic({ name: "purge-webhook-deliveries", everyMs: 600_000, run: purgeOldDeliveries }),
]);
