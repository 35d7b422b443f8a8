import type { Logger } from "../platform/logger";
import { Streams } from "./catalog";
import { deadLetterStream, trimConsumedEntries } from "./streams";

// Entries every group is done with are kept a day (to investigate or replay); dead letters a week.
const STREAM_RETENTION_MS = 24 * 3_600_000;
const DEAD_LETTER_RETENTION_MS = 7 * STREAM_RETENTION_MS;

/** Trims every catalogued stream and its dead-letter stream (the maintenance worker; idempotent). */
export async function trimStreams(log: Logger): Promise<void> {
  for (const stream of Object.values(Streams)) {
    const removed = await trimConsumedEntries(stream, STREAM_RETENTION_MS);
    if (removed > 0) log.info({ stream, removed }, "stream trimmed");
  }
  for (const stream of Object.values(Streams)) {
    await trimConsumedEntries(deadLetterStream(stream), DEAD_LETTER_RETENTION_MS);
  }
}
