import type { JSONValue } from "postgres";
import type { Executor } from "../platform/db";
import type { StreamName, StreamPayload } from "./catalog";

/** One row per catalogued stream, its payload of that stream's type. */
export type OutboxRow = { [S in StreamName]: { stream: S; payload: StreamPayload<S> } }[StreamName];

// Two parameters a row: a statement stays far below PostgreSQL's 65,535 bind parameters however
// many rows a change writes (an event deleted with 100,000 bookings writes 100,000).
const ROWS_PER_STATEMENT = 1_000;

/**
 * Writes outbox rows inside the caller's transaction: the event exists iff the change
 * committed. The relay publishes them to Redis afterwards.
 */
export async function writeOutbox(tx: Executor, rows: OutboxRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const values = rows
      .slice(i, i + ROWS_PER_STATEMENT)
      .map((r) => ({ stream: r.stream, payload: tx.json(r.payload as JSONValue) }));
    await tx`insert into outbox ${tx(values)}`;
  }
}
