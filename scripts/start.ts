import { logger } from "../src/platform/logger";
import { bootstrap } from "./lib/bootstrap";
import { apiChildren, withSharedSecret, workerChildren } from "./lib/children";
import { supervise } from "./lib/supervisor";

// One host, everything: migrate, ensure the admin, then the API pool and every worker.
try {
  await bootstrap();
} catch (err) {
  logger.error({ err }, "start-up failed");
  process.exit(1);
}
supervise(withSharedSecret([...apiChildren(), ...workerChildren()]));
