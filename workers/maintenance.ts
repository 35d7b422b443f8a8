import { purgeIdempotencyKeys } from "../src/http/idempotency";
import { startPeriodic } from "../src/messaging/periodic";
import { trimStreams } from "../src/messaging/retention";
import { runWorker } from "../src/messaging/worker-runner";

/** maintenance: trims the streams and purges expired Idempotency-Keys. Both are idempotent, so replicas are safe. */
await runWorker("maintenance", () => [
  startPeriodic({ name: "trim-streams", everyMs: 60_000, run: trimStreams }),
  startPeriodic({ name: "purge-idempotency-keys", everyMs: 10 * 60_000, run: purgeIdempotencyKeys }),
]);
