import { type DomainEventType, Streams } from "./catalog";
import type { OutboxRow } from "./outbox";

export type OutboxEntry = OutboxRow;

/**
 * An outbox row for stream `domain.events` (what webhooks deliver). Write it with writeOutbox in
 * the same transaction as the change it announces.
 */
export function domainEvent(type: DomainEventType, eventId: number, data: Record<string, unknown>): OutboxEntry {
  return {
    stream: Streams.domainEvents,
    payload: { type, event_id: eventId, occurred_at: new Date().toISOString(), data },
  };
}
