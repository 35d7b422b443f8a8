import type { Logger } from "../../platform/logger";
import { expireHolds } from "./holds.service";

/**
 * What the waitlist janitor (workers/waitlist-janitor.ts) runs for checkout holds: every pass
 * expires the holds past their end, handing their seats to the waitlist head or back on sale.
 * Safe with several replicas: each hold is ended under its row lock, once.
 */
export async function expireDueHolds(log: Logger): Promise<void> {
  let total = 0;
  for (let n = await expireHolds(); n > 0; n = await expireHolds()) total += n;
  if (total > 0) log.info({ expired: total }, "expired holds released");
}
