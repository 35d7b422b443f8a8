import { config } from "../../config";
import { liveConnections, liveDelivered, liveDropped } from "../../platform/metrics";
import { type Connection, encoder, type Feed } from "./live.feed";
import { cmpId, idText } from "./live.ids";
import { feeds, feedsByGroup, feedsByKey, liveState, perIp } from "./live.state";

const FEED_LINGER_MS = 30_000;

export function send(conn: Connection, bytes: Uint8Array): void {
  if (conn.closed) return;
  // desiredSize = buffer limit - bytes the client has not read yet. A full buffer drops the
  // stream, so one connection holds at most the limit plus one message (a snapshot at most).
  if ((conn.controller.desiredSize ?? 0) <= 0) {
    drop(conn, "slow");
    return;
  }
  try {
    conn.controller.enqueue(bytes);
  } catch {
    // The client went away and the stream is already closed: forget it, keep fanning out.
    release(conn);
    return;
  }
  liveDelivered.inc();
}

export function drop(conn: Connection, reason: "slow" | "idle" | "deleted" | "shutdown"): void {
  if (conn.closed) return;
  if (reason === "deleted" || reason === "shutdown") {
    try {
      conn.controller.close();
    } catch {
      // already errored by the client going away
    }
  } else {
    // An error, not close(): close() would wait for the unread bytes to drain, which they never do.
    conn.controller.error(new Error(`live stream dropped: ${reason}`));
  }
  liveDropped.inc({ reason });
  release(conn);
}

/** Forgets a connection (client gone or dropped); the feed lingers a while for reconnects. */
export function release(conn: Connection): void {
  if (conn.closed) return;
  conn.closed = true;
  liveState.total--;
  liveConnections.set(liveState.total);
  const left = (perIp.get(conn.ip) ?? 1) - 1;
  if (left <= 0) perIp.delete(conn.ip);
  else perIp.set(conn.ip, left);
  const feed = conn.feed;
  feed.connections.delete(conn);
  if (feed.connections.size === 0 && !feed.lingerTimer && feeds.get(feed.eventId) === feed) {
    feed.lingerTimer = setTimeout(() => {
      feed.lingerTimer = undefined;
      if (feed.connections.size === 0) removeFeed(feed);
    }, FEED_LINGER_MS);
    feed.lingerTimer.unref?.();
  }
}

export function removeFeed(feed: Feed): void {
  if (feeds.get(feed.eventId) === feed) feeds.delete(feed.eventId);
  if (feedsByKey.get(feed.fullKey) === feed) feedsByKey.delete(feed.fullKey);
  const group = feedsByGroup.get(feed.group);
  group?.delete(feed);
  if (group?.size === 0) feedsByGroup.delete(feed.group);
  if (feed.flushTimer) clearTimeout(feed.flushTimer);
  if (feed.lingerTimer) clearTimeout(feed.lingerTimer);
}

function flush(feed: Feed): void {
  if (feed.flushTimer) clearTimeout(feed.flushTimer);
  feed.flushTimer = undefined;
  feed.lastFlush = Date.now();
  if (feed.pending.size === 0) return;
  const message = feed.seatsMessage(feed.pending);
  feed.pending.clear();
  for (const conn of feed.connections) if (!conn.parkedUntil) send(conn, message);
}

export function scheduleFlush(feed: Feed): void {
  if (feed.pending.size === 0 || feed.flushTimer) return;
  const wait = feed.lastFlush + config.LIVE_BATCH_MS - Date.now();
  if (wait <= 0) flush(feed);
  else feed.flushTimer = setTimeout(() => flush(feed), wait);
}

/** Sends a fresh snapshot to every connection of the feed (its seat set changed). */
export function broadcastSnapshot(feed: Feed): void {
  const message = feed.snapshotMessage();
  for (const conn of feed.connections) {
    conn.parkedUntil = undefined;
    send(conn, message);
  }
}

export function closeFeed(feed: Feed): void {
  flush(feed);
  const message = encoder.encode(
    `id: ${idText(feed.lastId)}\nevent: deleted\ndata: ${JSON.stringify({ event_id: feed.eventId })}\n\n`,
  );
  for (const conn of [...feed.connections]) {
    send(conn, message);
    drop(conn, "deleted");
  }
  removeFeed(feed);
}

export function unparkReady(feed: Feed): void {
  for (const conn of feed.connections) {
    const parked = conn.parkedUntil;
    if (!parked || cmpId(feed.lastId, parked.id) < 0) continue;
    conn.parkedUntil = undefined;
    const seats = feed.changedAfter(parked.id);
    if (seats.length > 0) send(conn, feed.seatsMessage(seats));
  }
}

export function unparkExpired(feed: Feed): void {
  const now = Date.now();
  for (const conn of feed.connections) {
    if (conn.parkedUntil && conn.parkedUntil.deadline < now) {
      conn.parkedUntil = undefined;
      send(conn, feed.snapshotMessage());
    }
  }
}

/** Heartbeats, and idle readers: unread bytes waiting since the previous ticks, never drained. */
export function heartbeat(): void {
  const beat = encoder.encode(": heartbeat\n\n");
  const now = Date.now();
  for (const feed of feeds.values()) {
    for (const conn of [...feed.connections]) {
      const unread = config.LIVE_CONNECTION_BUFFER_BYTES - (conn.controller.desiredSize ?? 0);
      if (unread <= 0) conn.stalledSince = undefined;
      else if (conn.stalledSince === undefined) conn.stalledSince = now;
      else if (now - conn.stalledSince >= config.LIVE_IDLE_TIMEOUT_MS) {
        drop(conn, "idle");
        continue;
      }
      send(conn, beat);
    }
  }
}
