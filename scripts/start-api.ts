import { closeDb } from "../src/platform/db";
import { logger } from "../src/platform/logger";
import { ensureConfiguredAdmin } from "./lib/bootstrap";
import { apiChildren, withSharedSecret } from "./lib/children";
import { postgresUnreachableLine, say } from "./lib/first-run";
import { supervise } from "./lib/supervisor";

// The API pool: API_WORKERS processes sharing PORT with reusePort. Migrations are the
// `migrate` step's job (a one-shot container in compose); this only ensures the admin.
try {
  await ensureConfiguredAdmin();
  await closeDb();
} catch (err) {
  const missing = postgresUnreachableLine(err);
  if (missing) say(missing);
  else logger.error({ err }, "could not ensure the admin account");
  process.exit(1);
}
supervise(withSharedSecret(apiChildren()));
