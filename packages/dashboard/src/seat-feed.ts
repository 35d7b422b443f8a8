import { api, type SeatStatusVector, unwrap } from "./api";

/**
 * Where a seat map's updates come from: the live stream (GET /events/{id}/live, Server-Sent
 * Events: a snapshot with the seat-status vector, then batches of changes; docs/live.md), or
 * polling GET /events/{id}/seat-status where the stream cannot be had (no EventSource, the
 * server refused it with 429/503, or it keeps failing). The seat map only ever sees vectors.
 */
export type FeedMode = "live" | "polling";

export interface SeatFeed {
  /** Calls `onVector` with the current vector now and after every change; returns unsubscribe. */
  subscribe(
    eventId: number,
    onVector: (v: SeatStatusVector) => void,
    onError: (e: unknown) => void,
    onMode?: (mode: FeedMode) => void,
  ): () => void;
}

export function pollingSeatFeed(intervalMs = 1500): SeatFeed {
  return {
    subscribe(eventId, onVector, onError, onMode) {
      onMode?.("polling");
      let stopped = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let last = "";
      const tick = async () => {
        try {
          const vector = unwrap(
            await api.GET("/api/v1/events/{id}/seat-status", { params: { path: { id: eventId } } }),
          );
          if (!stopped && vector.statuses + vector.held !== last) {
            last = vector.statuses + vector.held;
            onVector(vector);
          }
        } catch (err) {
          if (!stopped) onError(err);
        }
        // One request at a time: the next poll is scheduled when this one has answered.
        if (!stopped) timer = setTimeout(tick, document.hidden ? intervalMs * 4 : intervalMs);
      };
      void tick();
      return () => {
        stopped = true;
        clearTimeout(timer);
      };
    },
  };
}

interface SeatsMessage {
  changes: [seat: number, status: "A" | "H" | "B", version: number][];
  available: number;
  held: number;
  booked: number;
}

// Reconnects the browser makes by itself (with Last-Event-ID) before polling takes over.
const MAX_FAILURES = 3;

/** The live stream, falling back to `fallback` (polling) when it cannot be used. */
export function liveSeatFeed(fallback: SeatFeed = pollingSeatFeed(1500)): SeatFeed {
  return {
    subscribe(eventId, onVector, onError, onMode) {
      if (typeof EventSource === "undefined") return fallback.subscribe(eventId, onVector, onError, onMode);
      let stopFallback: (() => void) | undefined;
      let vector: SeatStatusVector | undefined;
      let versions: number[] = [];
      let failures = 0;
      const source = new EventSource(`/api/v1/events/${eventId}/live`);
      const toPolling = () => {
        source.close();
        if (!stopFallback) stopFallback = fallback.subscribe(eventId, onVector, onError, onMode);
      };
      onMode?.("live");
      source.addEventListener("snapshot", (e) => {
        failures = 0;
        vector = JSON.parse((e as MessageEvent<string>).data) as SeatStatusVector;
        versions = new Array(vector.capacity).fill(-1);
        onVector(vector);
      });
      source.addEventListener("seats", (e) => {
        if (!vector) return;
        const msg = JSON.parse((e as MessageEvent<string>).data) as SeatsMessage;
        const seats = vector.statuses.split("");
        for (const [seat, status, version] of msg.changes) {
          // The server sends only newer versions; a client keeps the rule anyway.
          if (seat > seats.length || version <= (versions[seat - 1] ?? -1)) continue;
          seats[seat - 1] = status;
          versions[seat - 1] = version;
        }
        vector = { ...vector, statuses: seats.join(""), available: msg.available, held: msg.held, booked: msg.booked };
        onVector(vector);
      });
      source.addEventListener("deleted", () => {
        source.close();
        onError(new Error("the event was deleted"));
      });
      source.addEventListener("open", () => {
        failures = 0;
      });
      source.addEventListener("error", () => {
        // CLOSED: the server answered something other than a stream (404, 429, 503): poll.
        // CONNECTING: the browser retries by itself (Last-Event-ID); after a few, poll.
        if (source.readyState === EventSource.CLOSED || ++failures >= MAX_FAILURES) toPolling();
      });
      return () => {
        source.close();
        stopFallback?.();
      };
    },
  };
}
