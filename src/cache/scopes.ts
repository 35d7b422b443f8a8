import { type CacheEntry, type CacheScope, invalidate } from "./cache";

/**
 * Evently's cache conventions: which values exist, their TTLs, and what each write invalidates.
 * Everything cached about one event shares the scope `{event:<id>}` (one INCR drops its document,
 * counts and seat maps together); list pages share `{events:list}`; analytics share `{analytics}`.
 * TTLs only bound the damage of a missed invalidation: correctness comes from invalidating.
 */

export const eventScope = (eventId: number): CacheScope => ({ namespace: "event", entity: eventId });
export const eventListScope: CacheScope = { namespace: "events:list" };
export const analyticsScope: CacheScope = { namespace: "analytics" };

/** GET /events/{id}: the event with its seat counts. */
export const eventDocEntry = (eventId: number): CacheEntry => ({ ...eventScope(eventId), key: "doc", ttlSeconds: 60 });

/** GET /events/{id}/seats?status= (status undefined = all seats). */
export const seatMapEntry = (eventId: number, status?: string): CacheEntry => ({
  ...eventScope(eventId),
  key: `seats:${status ?? "ALL"}`,
  ttlSeconds: 60,
});

/** GET /events/{id}/seat-status: one character per seat, the compact form of the seat map. */
export const seatStatusEntry = (eventId: number): CacheEntry => ({
  ...eventScope(eventId),
  key: "seat-status",
  ttlSeconds: 60,
});

/** GET /events/?...: `canonicalQuery` must list every parameter in a fixed order, defaults filled in. */
export const eventListEntry = (canonicalQuery: string): CacheEntry => ({
  ...eventListScope,
  key: canonicalQuery,
  ttlSeconds: 30,
});

/** Analytics answers: short TTL, not invalidated per booking, may be served stale during a rebuild. */
export const analyticsEntry = (key: string): CacheEntry => ({
  ...analyticsScope,
  key,
  ttlSeconds: 15,
  allowStale: true,
});

/** Everything cached about one account: what its tokens are checked against. */
export const userScope = (userId: number): CacheScope => ({ namespace: "user", entity: userId });

/**
 * The identity a token's subject has now. Kept like every other entry (in-process tier, coherent
 * across processes), so a password change invalidates it everywhere before it is answered.
 */
export const tokenUserEntry = (userId: number): CacheEntry => ({ ...userScope(userId), key: "token", ttlSeconds: 300 });

/** After COMMIT of a book, cancel, hold, offer expiry or release on one event. */
export const invalidateEventSeats = (eventId: number): Promise<void> => invalidate(eventScope(eventId));

/** After COMMIT of an event create, update or delete: its own values and every list page. */
export const invalidateEvent = (eventId: number): Promise<void> => invalidate(eventScope(eventId), eventListScope);
