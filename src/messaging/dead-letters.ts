import { redis } from "../platform/redis";
import { deadLetterStream, EntryField, parseEntries, publish } from "./streams";

/**
 * Puts dead-lettered entries back on their stream (once the cause is fixed: a Mailgun key, a
 * bug), oldest first, and removes them from `<stream>.dead`. Every group on the stream sees them
 * again; handlers are idempotent, so a group that had handled one skips it. Malformed entries
 * stay for a human to read: they would only fail again. Returns how many were replayed.
 */
export async function replayDeadLetters(stream: string, limit = 1_000): Promise<number> {
  const dead = deadLetterStream(stream);
  const entries = parseEntries(await redis.xrange(dead, "-", "+", "COUNT", limit));
  let replayed = 0;
  for (const entry of entries) {
    const text = entry.fields[EntryField.payload];
    if (text === undefined || entry.fields.reason === "malformed") continue;
    await publish(stream, JSON.parse(text), { outboxId: entry.fields[EntryField.outboxId] });
    await redis.xdel(dead, entry.id);
    replayed++;
  }
  return replayed;
}
