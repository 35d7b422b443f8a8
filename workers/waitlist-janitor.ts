import { config } from "../src/config";
import { startPeriodic } from "../src/messaging/periodic";
import { runWorker } from "../src/messaging/worker-runner";
import { dropOldLines, expireDueOffers } from "../src/modules/waitlist/waitlist.jobs";

/** waitlist-janitor: releases offers nobody took in time and drops the lines of started events. */
await runWorker("waitlist-janitor", () => [
  startPeriodic({ name: "expire-offers", everyMs: config.JANITOR_INTERVAL_MS, run: expireDueOffers }),
  startPeriodic({ name: "drop-started-waitlists", everyMs: 60_000, run: dropOldLines }),
]);
