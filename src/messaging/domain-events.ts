import { type DomainEventType, Streams } from "./catalog";
import type { OutboxRow } from "./outbox";

export type OutboxEntry = OutboxRow;

/**
 * An outbox row for `domain.events` (what the webhook-dispatcher delivers to subscribers). Write
 * it with writeOutbox(tx, [...]) in the transaction that makes the change, so the event exists iff
 * the change committed. `eventId` is the Evently event the change concerns; `data` is what a
 * subscriber receives as the payload's data (docs/webhooks.md lists each type's fields).
 */
export function domainEvent(type: DomainEventType, eventId: number, data: Record<string, unknown>): OutboxEntry {
  return {
    stream: Streams.domainEvents,
    payload: { type, event_id: eventId, occurred_at: new Date().toISOString(), data },
  };
}
