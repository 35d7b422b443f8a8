import { type DomainEventType, Streams } from "./catalog";
import type { OutboxRow } from "./outbox";

/** An outbox row for stream domain.events: write it with writeOutbox in the change's transaction. */
export function domainEvent(type: DomainEventType, eventId: number, data: Record<string, unknown>): OutboxRow {
  return {
    stream: Streams.domainEvents,
    payload: { type, event_id: eventId, occurred_at: new Date().toISOString(), data },
  };
}
