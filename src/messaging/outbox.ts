import type { JSONValue } from "postgres";
import type { Executor } from "../platform/db";
import type { StreamName, StreamPayload } from "./catalog";

/** One row per catalogued stream, its payload of that stream's type. */
export type OutboxRow = { [S in StreamName]: { stream: S; payload: StreamPayload<S> } }[StreamName];

/**
 * Writes outbox rows inside the caller's transaction: the event exists iff the change
 * committed. The relay publishes them to Redis afterwards.
 */
export async function writeOutbox(tx: Executor, rows: OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  const values = rows.map((r) => ({ stream: r.stream, payload: tx.json(r.payload as JSONValue) }));
  await tx`insert into outbox ${tx(values)}`;
}
