import type { seats } from "../../db/schema";
import type { Executor } from "../../platform/db";

type SeatRow = typeof seats.$inferSelect;

/** Every seat of a live event in seat_number order: statuses as one character each, versions. */
export interface EventSeatState {
  statuses: string;
  versions: number[];
}

/** Undefined when the event does not exist or is deleted. */
export async function loadEventSeats(ex: Executor, eventId: number): Promise<EventSeatState | undefined> {
  const [row] = await ex<{ live: boolean | null; statuses: string; versions: number[] }[]>`
    select (select deleted_at is null from events where id = ${eventId}) as live,
           coalesce(string_agg(case status when 'AVAILABLE' then 'A' when 'HELD' then 'H' else 'B' end,
                               '' order by seat_number), '') as statuses,
           coalesce(array_agg(version order by seat_number), '{}') as versions
    from seats where event_id = ${eventId}`;
  if (!row?.live) return undefined;
  return { statuses: row.statuses, versions: row.versions };
}

export type SeatVersion = Pick<SeatRow, "seatNumber" | "status" | "version">;

/** Some seats' current status and version (changes published without a version). */
export async function seatVersions(ex: Executor, eventId: number, seatNumbers: number[]): Promise<SeatVersion[]> {
  const rows = await ex<SeatVersion[]>`
    select seat_number, status, version from seats
    where event_id = ${eventId} and seat_number = any(${seatNumbers}::int[])`;
  return [...rows];
}

/** What the reconcile compares first: versions only grow, so an equal sum means nothing changed. */
export interface VersionSummary {
  live: boolean;
  seats: number;
  versionSum: number;
}

export async function versionSummary(ex: Executor, eventId: number): Promise<VersionSummary> {
  const [row] = await ex<{ live: boolean | null; seats: number; versionSum: number }[]>`
    select (select deleted_at is null from events where id = ${eventId}) as live,
           count(*)::int as seats, coalesce(sum(version), 0)::float8 as version_sum
    from seats where event_id = ${eventId}`;
  return { live: row?.live === true, seats: row?.seats ?? 0, versionSum: row?.versionSum ?? 0 };
}
