import type Redis from "ioredis";
import type { Feed } from "./live.feed";

export const feeds = new Map<number, Feed>();
export const feedsByKey = new Map<string, Feed>();
/** Feeds by reader group (see Feed.group). */
export const feedsByGroup = new Map<number, Set<Feed>>();
/** One blocking connection and read loop per group with feeds. */
export const readers = new Map<number, Redis>();
export const perIp = new Map<string, number>();
/** The process's live stream count, reconcile/heartbeat timers and shutdown flag. */
export const liveState = {
  total: 0,
  timers: [] as ReturnType<typeof setInterval>[],
  stopped: false,
};
