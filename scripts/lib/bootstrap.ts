import { config } from "../../src/config";
import { runMigrations } from "../../src/db/migrate";
import { ensureAdmin } from "../../src/modules/auth/auth.service";
import { firstAdminEmail } from "../../src/modules/users/users.service";
import { closeDb } from "../../src/platform/db";
import { logger } from "../../src/platform/logger";

/** Creates or promotes the admin named by ADMIN_EMAIL/ADMIN_PASSWORD; a no-op when unset. */
export async function ensureConfiguredAdmin(): Promise<void> {
  if (!config.ADMIN_EMAIL || !config.ADMIN_PASSWORD) {
    logger.info("ADMIN_EMAIL/ADMIN_PASSWORD not set: no admin ensured");
    return;
  }
  const outcome = await ensureAdmin(config.ADMIN_EMAIL, config.ADMIN_PASSWORD, { resetPassword: false });
  logger.info({ email: config.ADMIN_EMAIL, outcome }, "admin ensured");
}

/** What must happen once before any API process serves: schema, then the first admin. */
export async function bootstrap(): Promise<{ adminEmail: string | undefined }> {
  await runMigrations(config.DATABASE_URL);
  await ensureConfiguredAdmin();
  const adminEmail = await firstAdminEmail();
  await closeDb();
  return { adminEmail };
}
