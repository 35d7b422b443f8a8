import { z } from "zod";
import { startConsumer } from "../../src/messaging/consumer";
import { PermanentError } from "../../src/messaging/handler-errors";
import { runWorker } from "../../src/messaging/worker-runner";
import { redis } from "../../src/platform/redis";

/**
 * A test-only worker built from the real machinery (runWorker + startConsumer). It consumes
 * TEST_STREAM and records each handled entry in Redis, raw and not deduplicated
 * (`handled:<stream>` entry id → times handled, `handled-by:<stream>` entry id → pid), so tests can
 * count how often each entry was handled across processes. TEST_BEHAVIOUR:
 *   record         record and succeed (default)
 *   slow:MS        wait MS, then record
 *   hang-after:N   record the first N entries, then hang in the handler (for kill -9)
 *   fail           throw a retryable error every time
 *   reject         throw a permanent error every time
 */
const env = process.env;
const stream = env.TEST_STREAM ?? "test.stream";
const [mode, arg] = (env.TEST_BEHAVIOUR ?? "record").split(":");
let handled = 0;

async function handle(entryId: string): Promise<void> {
  if (mode === "hang-after" && handled >= Number(arg)) await new Promise(() => {});
  if (mode === "slow") await Bun.sleep(Number(arg));
  if (mode === "fail") throw new Error("test failure");
  if (mode === "reject") throw new PermanentError("test rejection");
  await redis.hincrby(`handled:${stream}`, entryId, 1);
  await redis.hset(`handled-by:${stream}`, entryId, String(process.pid));
  handled++;
}

await runWorker(
  "test-worker",
  () => [
    startConsumer({
      stream,
      schema: z.object({ n: z.number() }),
      group: env.TEST_GROUP ?? "test-group",
      batchSize: Number(env.TEST_BATCH ?? 10),
      handler: async (entry, log) => {
        log.info({ payload: entry.payload }, "test handler started");
        await handle(entry.id);
      },
    }),
  ],
  { relay: env.TEST_RELAY !== "false" },
);
