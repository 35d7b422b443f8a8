import { config } from "../src/config";
import { startPeriodic } from "../src/messaging/periodic";
import { runWorker } from "../src/messaging/worker-runner";
import { expireDueHolds } from "../src/modules/holds/holds.jobs";
import { dropOldLines, expireDueOffers } from "../src/modules/waitlist/waitlist.jobs";

/** waitlist-janitor: releases offers and holds nobody took in time, drops the lines of started events. */
await runWorker("waitlist-janitor", () => [
  startPeriodic({ name: "expire-offers", everyMs: config.JANITOR_INTERVAL_MS, run: expireDueOffers }),
  startPeriodic({ name: "expire-holds", everyMs: config.JANITOR_INTERVAL_MS, run: expireDueHolds }),
  startPeriodic({ name: "drop-started-waitlists", everyMs: 60_000, run: dropOldLines }),
]);
