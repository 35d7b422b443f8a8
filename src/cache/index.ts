/**
 * The cache's one public API (design: README.md beside this file). Code outside src/cache imports
 * from here only; the parts behind it (tiers, coherence, scripts, keys) may change freely.
 */
export {
  Cache,
  type CacheEntry,
  type CacheScope,
  cache,
  getOrLoad,
  getOrLoadJson,
  getOrLoadText,
  invalidate,
  type Json,
  refresh,
} from "./cache";
export {
  analyticsEntry,
  analyticsScope,
  eventDocEntry,
  eventListEntry,
  eventListScope,
  eventScope,
  invalidateEvent,
  invalidateEventSeats,
  seatMapEntry,
  seatStatusEntry,
  tokenUserEntry,
  userScope,
} from "./scopes";
