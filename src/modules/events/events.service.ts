import {
  eventDocEntry,
  eventListEntry,
  eventListScope,
  eventScope,
  getOrLoad,
  getOrLoadJson,
  getOrLoadText,
  type Json,
  refresh,
  seatMapEntry,
  seatStatusEntry,
} from "../../cache";
import type { AuthUser } from "../../domain/auth-user";
import { DomainError, ErrorCode, pgErrorCode } from "../../domain/errors";
import { afterCommit } from "../../messaging/after-commit";
import { Streams } from "../../messaging/catalog";
import { domainEvent } from "../../messaging/domain-events";
import { publishLiveControl } from "../../messaging/live";
import { writeOutbox } from "../../messaging/outbox";
import { onReplica, sql } from "../../platform/db";
import { dropWaitlist, waitlistSize, waitlistSizeIfKnown } from "../waitlist/waitlist.service";
import * as repo from "./events.repo";
import {
  type EventCreate,
  type EventDetailDto,
  type EventDto,
  type EventListFilters,
  type EventUpdate,
  type SeatRange,
  type SeatStatusVector,
  toEventBookingDto,
  toEventDto,
} from "./events.schemas";

const eventNotFound = (id: number) => new DomainError(ErrorCode.EVENT_NOT_FOUND, `Event ${id} does not exist.`);

/** The unique index on (name, venue, start) is the race-free duplicate check: translate its error. */
function duplicateEventAsConflict(err: unknown): never {
  if (pgErrorCode(err) === "23505") {
    throw new DomainError(ErrorCode.EVENT_EXISTS, "An event with this name, venue and start time already exists.");
  }
  throw err;
}

export async function createEvent(actor: AuthUser, input: EventCreate): Promise<EventDto> {
  try {
    const row = await sql.begin(async (tx) => {
      const event = await repo.insertEventWithSeats(tx, input, actor.id);
      await writeOutbox(tx, [{ stream: Streams.eventChanged, payload: { event_id: event.id, change: "created" } }]);
      return event;
    });
    await afterEventWrite(row.id);
    return toEventDto(row);
  } catch (err) {
    duplicateEventAsConflict(err);
  }
}

/** After COMMIT of a change to an event: drop its cached documents and list pages, announce it. */
async function afterEventWrite(id: number): Promise<void> {
  await afterCommit({ invalidate: [eventScope(id), eventListScope], outbox: true });
}

async function loadEventDetail(id: number): Promise<EventDetailDto | null> {
  const row = await repo.findLiveEvent(sql, id);
  if (!row) return null;
  const [counts, waiting] = await Promise.all([repo.countSeats(sql, id), waitlistSize(id)]);
  return {
    ...toEventDto(row),
    available_seats: counts.available,
    booked_seats: counts.booked,
    held_seats: counts.held,
    waitlist_size: waiting,
  };
}

/** The event document as JSON text, read through the cache (invalidated by every write to the event). */
export async function getEventDetail(id: number): Promise<Json<EventDetailDto>> {
  const json = await getOrLoadJson(eventDocEntry(id), () => loadEventDetail(id));
  if (json === "null") throw eventNotFound(id);
  return json as string as Json<EventDetailDto>;
}

/** Rebuilds an event's cached document now, so its next reader finds it warm (the cache-warmer). */
export async function warmEventDocument(id: number): Promise<void> {
  await refresh(eventDocEntry(id), () => loadEventDetail(id));
}

/** Warms the documents of upcoming and currently hot events; returns how many. */
export async function warmHotEvents(limit = 50): Promise<number> {
  const ids = await repo.hotAndUpcomingEventIds(sql, limit);
  for (const id of ids) await warmEventDocument(id);
  return ids.length;
}

export async function listEvents(filters: EventListFilters): Promise<{ events: EventDto[]; total: number }> {
  const key = [
    filters.name ?? "",
    filters.venue ?? "",
    filters.from_date?.toISOString() ?? "",
    filters.to_date?.toISOString() ?? "",
    filters.limit,
    filters.offset,
  ].join("|");
  return getOrLoad(eventListEntry(key), async () => {
    const { rows, total } = await onReplica((db) => repo.listLiveEvents(db, filters));
    return { events: rows.map(toEventDto), total };
  });
}

/** Partial update under the event's row lock; capacity grows by adding seats, shrinks only over free seats. */
export async function updateEvent(id: number, changes: EventUpdate): Promise<EventDto> {
  // People waiting get the seats a capacity increase adds (as offers, through the promoter). When
  // Redis cannot say how many wait, every new seat goes through the promoter, which decides once
  // it can read the line: assuming nobody waits would skip them for good.
  const waiting = changes.capacity !== undefined ? ((await waitlistSizeIfKnown(id)) ?? Infinity) : 0;
  try {
    const row = await sql.begin(async (tx) => {
      const current = await repo.lockLiveEvent(tx, id);
      if (!current) throw eventNotFound(id);
      const start = changes.start_time ?? current.startTime;
      const end = changes.end_time === undefined ? current.endTime : changes.end_time;
      if (end && end <= start) {
        throw new DomainError(ErrorCode.VALIDATION_FAILED, "end_time must be after start_time.", {
          errors: [{ field: "json.end_time", message: "must be after start_time" }],
        });
      }
      if (changes.capacity !== undefined && changes.capacity > current.capacity) {
        await repo.insertSeatRange(tx, id, current.capacity + 1, changes.capacity);
        const added = await repo.seatsFrom(tx, id, current.capacity + 1, Math.min(waiting, changes.capacity));
        await writeOutbox(
          tx,
          added.map((s) => ({
            stream: Streams.seatReleased,
            payload: { event_id: id, seat_id: s.id, seat_number: s.seatNumber, reason: "capacity_added" },
          })),
        );
      } else if (changes.capacity !== undefined && changes.capacity < current.capacity) {
        const busy = await repo.removeSeatsAbove(tx, id, changes.capacity);
        if (busy.length > 0) {
          throw new DomainError(
            ErrorCode.CAPACITY_SHRINK_CONFLICT,
            `Cannot shrink to ${changes.capacity}: seats ${busy.slice(0, 10).join(", ")}${busy.length > 10 ? ", …" : ""} are not available.`,
          );
        }
      }
      const updated = await repo.updateEventRow(tx, id, changes);
      await writeOutbox(tx, [
        { stream: Streams.eventChanged, payload: { event_id: id, change: "updated" } },
        domainEvent("event.updated", id, { event: toEventDto(updated), changed: changedFields(changes) }),
      ]);
      return { updated, seatsChanged: changes.capacity !== undefined && changes.capacity !== current.capacity };
    });
    await afterEventWrite(id);
    // Seats were added or removed: live subscribers get a fresh snapshot.
    if (row.seatsChanged) publishLiveControl(id, "resync");
    return toEventDto(row.updated);
  } catch (err) {
    duplicateEventAsConflict(err);
  }
}

const changedFields = (changes: EventUpdate) =>
  Object.entries(changes)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k)
    .sort();

/** Soft delete: bookings become CANCELLED (history stays), holders are notified, the waitlist goes. */
export async function deleteEvent(id: number): Promise<void> {
  await sql.begin(async (tx) => {
    const event = await repo.lockLiveEvent(tx, id);
    if (!event) throw eventNotFound(id);
    const cancelled = await repo.softDeleteEvent(tx, id);
    await writeOutbox(tx, [
      { stream: Streams.eventChanged, payload: { event_id: id, change: "deleted" } },
      domainEvent("event.deleted", id, { event: toEventDto(event), cancelled_bookings: cancelled.length }),
      ...cancelled.map((b) => ({
        stream: Streams.notifications,
        payload: {
          to: b.email,
          subject: `Cancelled: ${event.name}`,
          text: `"${event.name}" was cancelled by the organiser; your booking for seat ${b.seatNumber} is cancelled.`,
          kind: "event_cancelled",
          dedupe_key: `event-deleted:${id}:${b.userId}:${b.seatNumber}`,
        },
      })),
    ]);
  });
  await Promise.all([afterEventWrite(id), dropWaitlist(id)]);
  // Live streams of the event end (their subscribers get a `deleted` event first).
  publishLiveControl(id, "deleted");
}

/**
 * The seat map as JSON text built by PostgreSQL: the whole map through the cache, a page straight
 * from the seats index (pages are cheap to read, and caching every range a client can name would
 * let one client fill Redis).
 */
export async function getSeatMap(id: number, status?: string, range?: SeatRange): Promise<string> {
  const json = range
    ? ((await onReplica((db) => repo.seatMapJson(db, id, status, range))) ?? "null")
    : await getOrLoadText(
        seatMapEntry(id, status),
        async () => (await onReplica((db) => repo.seatMapJson(db, id, status))) ?? "null",
      );
  if (json === "null") throw eventNotFound(id);
  return json;
}

/** The seat map in one character per seat, with the counts: what a live seat view polls. */
export async function getSeatStatus(id: number): Promise<Json<SeatStatusVector>> {
  const json = await getOrLoadJson(seatStatusEntry(id), async (): Promise<SeatStatusVector | null> => {
    const statuses = await onReplica((db) => repo.seatStatusString(db, id));
    if (statuses === undefined) return null;
    const count = (c: string) => statuses.split(c).length - 1;
    return {
      event_id: id,
      capacity: statuses.length,
      available: count("A"),
      held: count("H"),
      booked: count("B"),
      statuses,
    };
  });
  if (json === "null") throw eventNotFound(id);
  return json as string as Json<SeatStatusVector>;
}

export async function getEventWithBookings(id: number) {
  const row = await repo.findLiveEvent(sql, id);
  if (!row) throw eventNotFound(id);
  const bookings = await repo.listEventBookings(sql, id);
  return { ...toEventDto(row), bookings: bookings.map(toEventBookingDto) };
}
