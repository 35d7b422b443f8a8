import { api, type SeatStatusVector, unwrap } from "./api";

/**
 * Where a seat map's updates come from. Today: polling GET /events/{id}/seat-status. When the
 * live stream exists (GET /events/{id}/live, Server-Sent Events: a snapshot with the same
 * compact vector, then changes), a stream-backed SeatFeed replaces this one and the seat map
 * does not change.
 */
export interface SeatFeed {
  /** Calls `onVector` with the current vector now and after every change; returns unsubscribe. */
  subscribe(eventId: number, onVector: (v: SeatStatusVector) => void, onError: (e: unknown) => void): () => void;
}

export function pollingSeatFeed(intervalMs = 1500): SeatFeed {
  return {
    subscribe(eventId, onVector, onError) {
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
