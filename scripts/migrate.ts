import { config } from "../src/config";
import { runMigrations } from "../src/db/migrate";
import { logger } from "../src/platform/logger";

try {
  await runMigrations(config.DATABASE_URL);
  logger.info("migrations applied");
  process.exit(0);
} catch (err) {
  logger.error({ err }, "migration failed");
  process.exit(1);
}
