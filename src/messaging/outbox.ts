import type { JSONValue } from "postgres";
import type { Executor } from "../platform/db";

/** Stream names: the outbox row's `stream` is the Redis stream it is relayed to. */
export const Streams = {
  seatReleased: "seat.released",
  eventChanged: "event.changed",
  notifications: "notifications",
} as const;
export type StreamName = (typeof Streams)[keyof typeof Streams];

export interface SeatReleasedPayload {
  event_id: number;
  seat_id: number;
  seat_number: number;
  reason: "cancelled" | "offer_expired" | "offer_declined" | "capacity_added";
}

export interface EventChangedPayload {
  event_id: number;
  change: "created" | "updated" | "deleted" | "seats";
}

export interface NotificationPayload {
  to: string;
  subject: string;
  text: string;
  kind: string;
  /** Makes redelivery harmless: the notifier sends each key at most once. */
  dedupe_key: string;
}

/**
 * Writes an outbox row inside the caller's transaction: the event exists iff the change
 * committed. The relay publishes it to Redis afterwards.
 */
export async function writeOutbox(tx: Executor, rows: { stream: StreamName; payload: object }[]): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map((r) => ({ stream: r.stream, payload: tx.json(r.payload as JSONValue) }));
  await tx`insert into outbox ${tx(values)}`;
}
