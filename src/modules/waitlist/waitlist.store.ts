import { logger } from "../../infra/logger";
import { redis } from "../../infra/redis";

/** One sorted set per event, score = join time in ms (FIFO). Hash-tagged for Redis Cluster. */
export const waitlistKey = (eventId: number) => `{event:${eventId}}:waitlist`;

/** The list's size, or 0 when Redis cannot answer (logged): a display value, never a decision. */
export async function waitlistSize(eventId: number): Promise<number> {
  try {
    return await redis.zcard(waitlistKey(eventId));
  } catch (err) {
    logger.warn({ err: (err as Error).message, event_id: eventId }, "waitlist size unavailable");
    return 0;
  }
}

export async function dropWaitlist(eventId: number): Promise<void> {
  try {
    await redis.del(waitlistKey(eventId));
  } catch (err) {
    logger.warn({ err: (err as Error).message, event_id: eventId }, "could not drop waitlist");
  }
}
