import { z } from "zod";

/**
 * The one catalogue of streams: each name and the zod schema of its payload. The outbox row's
 * `stream` is the Redis stream it is relayed to; writeOutbox only accepts a payload of its
 * stream's type, and every consumer parses an entry with its stream's schema before the handler
 * sees it (an entry that does not fit is dead-lettered as malformed).
 */
export const Streams = {
  seatReleased: "seat.released",
  eventChanged: "event.changed",
  notifications: "notifications",
  domainEvents: "domain.events",
} as const;
export type StreamName = (typeof Streams)[keyof typeof Streams];

const id = z.number().int().positive();

/** A seat became AVAILABLE: the promoter offers it to the head of the event's line. */
const seatReleased = z.object({
  event_id: id,
  seat_id: id,
  seat_number: id,
  reason: z.enum(["cancelled", "offer_expired", "offer_declined", "capacity_added"]),
});

/** An event's document changed: the cache warmer rebuilds it. */
const eventChanged = z.object({
  event_id: id,
  change: z.enum(["created", "updated", "deleted", "seats"]),
});

/** An e-mail for the notifier to send. */
const notification = z.object({
  to: z.email(),
  subject: z.string().min(1).max(998),
  text: z.string(),
  kind: z.string(),
  /** Makes redelivery harmless: the notifier sends each key at most once. */
  dedupe_key: z.string().min(1).max(200),
});

/** What happened, for webhooks (docs/waitlist.md lists the waitlist ones). */
export const DomainEventType = z.enum([
  "booking.created",
  "booking.cancelled",
  "hold.created",
  "hold.expired",
  "waitlist.offered",
  "waitlist.accepted",
  "waitlist.expired",
  "event.updated",
  "event.deleted",
]);
export type DomainEventType = z.infer<typeof DomainEventType>;

const domainEvent = z.object({
  type: DomainEventType,
  event_id: id,
  occurred_at: z.string(),
  data: z.record(z.string(), z.unknown()),
});

const schemas = {
  [Streams.seatReleased]: seatReleased,
  [Streams.eventChanged]: eventChanged,
  [Streams.notifications]: notification,
  [Streams.domainEvents]: domainEvent,
} satisfies Record<StreamName, z.ZodType>;

export type StreamPayload<S extends StreamName> = z.infer<(typeof schemas)[S]>;
export type SeatReleasedPayload = StreamPayload<typeof Streams.seatReleased>;
export type EventChangedPayload = StreamPayload<typeof Streams.eventChanged>;
export type NotificationPayload = StreamPayload<typeof Streams.notifications>;
export type DomainEventPayload = StreamPayload<typeof Streams.domainEvents>;

// Typed by stream name so that a lookup with a generic name keeps its payload type.
const streamCatalog: { [S in StreamName]: z.ZodType<StreamPayload<S>> } = schemas;

/** The schema of a catalogued stream's payload. */
export function payloadSchema<S extends StreamName>(stream: S): z.ZodType<StreamPayload<S>> {
  return streamCatalog[stream];
}
