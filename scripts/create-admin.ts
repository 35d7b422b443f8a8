import { config } from "../src/config";
import { ensureAdmin } from "../src/modules/auth/auth.service";
import { closeDb } from "../src/platform/db";
import { logger } from "../src/platform/logger";

if (!config.ADMIN_EMAIL || !config.ADMIN_PASSWORD) {
  logger.error("set ADMIN_EMAIL and ADMIN_PASSWORD (8..72 bytes) to create an admin");
  process.exit(1);
}
try {
  const outcome = await ensureAdmin(config.ADMIN_EMAIL, config.ADMIN_PASSWORD, { resetPassword: true });
  logger.info({ email: config.ADMIN_EMAIL, outcome }, "admin ready");
  await closeDb();
  process.exit(0);
} catch (err) {
  logger.error({ err }, "could not create the admin");
  process.exit(1);
}
