import { dashboardBuilt } from "../src/modules/admin";
import { logger } from "../src/platform/logger";
import { bootstrap } from "./lib/bootstrap";
import { apiChildren, withSharedSecret, workerChildren } from "./lib/children";
import { postgresUnreachableLine, redisDegradedLine, redisReachable, say, upLines, waitForApi } from "./lib/first-run";
import { supervise } from "./lib/supervisor";

// One host, everything: migrate, ensure the admin, then the API pool and every worker.
let adminEmail: string | undefined;
try {
  ({ adminEmail } = await bootstrap());
} catch (err) {
  const missing = postgresUnreachableLine(err);
  if (missing) say(missing);
  else logger.error({ err }, "start-up failed");
  process.exit(1);
}
// Without Redis everything still works from PostgreSQL, slower: say so once, and go on.
if (!(await redisReachable())) say(redisDegradedLine());
supervise(withSharedSecret([...apiChildren(), ...workerChildren()]));
if (await waitForApi()) for (const line of upLines(adminEmail, dashboardBuilt())) say(line);
