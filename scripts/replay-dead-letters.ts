import { replayDeadLetters } from "../src/messaging/dead-letters";
import { logger } from "../src/platform/logger";
import { closeRedis, waitForRedis } from "../src/platform/redis";

// bun scripts/replay-dead-letters.ts <stream> [limit] — e.g. `notifications` after fixing Mailgun.
const [stream, limit] = process.argv.slice(2);
if (!stream) {
  logger.error("usage: bun scripts/replay-dead-letters.ts <stream> [limit]");
  process.exit(2);
}
if (!(await waitForRedis(5_000))) {
  logger.error("redis is not reachable");
  process.exit(1);
}
const replayed = await replayDeadLetters(stream, limit ? Number(limit) : undefined);
logger.info({ stream, replayed }, "dead letters replayed");
await closeRedis();
