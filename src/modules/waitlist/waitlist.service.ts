import { invalidateEventSeats } from "../../cache";
import type { AuthUser } from "../../domain/auth-user";
import { DomainError, ErrorCode } from "../../domain/errors";
import { sql } from "../../platform/db";
import { promoteNextInLine } from "./waitlist.offers";
import * as repo from "./waitlist.repo";
import { toWaitlistEntryDto, type WaitlistEntryDto } from "./waitlist.schemas";
import * as store from "./waitlist.store";

/** Joins the line of a sold-out event; joining again keeps the first place (created: false). */
export async function join(actor: AuthUser, eventId: number): Promise<{ created: boolean; entry: WaitlistEntryDto }> {
  const event = await repo.readWaitlistEventState(sql, eventId, actor.id);
  if (!event) throw new DomainError(ErrorCode.EVENT_NOT_FOUND, `Event ${eventId} does not exist.`);
  if (event.started) throw new DomainError(ErrorCode.EVENT_STARTED, "The event has already started.");
  if (event.userHasBooking) {
    throw new DomainError(ErrorCode.ALREADY_BOOKED_EVENT, "You already have a booking for this event.");
  }
  const current = await store.waitlistPosition(eventId, actor.id);
  if (current) return { created: false, entry: toWaitlistEntryDto(eventId, current) };
  if (event.hasAvailable) {
    throw new DomainError(ErrorCode.SEATS_AVAILABLE, "Seats are still available: book one instead of waiting.");
  }
  const joined = await store.joinWaitlist(eventId, actor.id, Date.now());
  await invalidateEventSeats(eventId); // the event document shows waitlist_size
  if (joined.added) {
    // A seat freed between our availability check and the join found nobody waiting, so it
    // stayed AVAILABLE: offer it to the line now (its head may be someone who joined earlier).
    const free = await repo.lowestAvailableSeatId(sql, eventId);
    if (free !== undefined) await promoteNextInLine(eventId, free);
  }
  return { created: joined.added, entry: toWaitlistEntryDto(eventId, joined) };
}

export async function position(actor: AuthUser, eventId: number): Promise<WaitlistEntryDto> {
  const p = await store.waitlistPosition(eventId, actor.id);
  if (!p) throw new DomainError(ErrorCode.NOT_ON_WAITLIST, `You are not on the waitlist of event ${eventId}.`);
  return toWaitlistEntryDto(eventId, p);
}

export async function leave(actor: AuthUser, eventId: number): Promise<void> {
  if (!(await store.leaveWaitlist(eventId, actor.id))) {
    throw new DomainError(ErrorCode.NOT_ON_WAITLIST, `You are not on the waitlist of event ${eventId}.`);
  }
  await invalidateEventSeats(eventId);
}

export async function entries(eventId: number, limit: number) {
  const list = await store.waitlistEntries(eventId, limit);
  const emails = await repo.emailsOf(
    sql,
    list.map((e) => e.userId),
  );
  return list.map((e, i) => ({
    position: i + 1,
    user_id: e.userId,
    user_email: emails.get(e.userId) ?? null,
    joined_at: new Date(e.joinedAtMs).toISOString(),
  }));
}

/**
 * Drops the lines of events that have started or were deleted, however long ago: lines have no
 * TTL (so Redis never evicts them), and this sweep is what ends them.
 */
export async function dropStartedWaitlists(): Promise<number> {
  const ids = await repo.endedEventIdsAmong(sql, await store.eventsWithWaitlists());
  await Promise.all(ids.map((id) => store.dropWaitlist(id)));
  return ids.length;
}

// What other modules may use of the waitlist: bookings hand a freed seat to the head of the line
// in their own transaction; events move or drop a line; ops samples line sizes.
export { afterOffer, expireOffers, offerSeatInTransaction, peekHeadOfLine, promoteNextInLine } from "./waitlist.offers";
// Holds (docs/holds.md) hand an expired or released hold's seats to the first people in line.
export {
  dropWaitlist,
  headOfLine,
  waitlistIndexKey,
  waitlistKey,
  waitlistSize,
  waitlistSizeIfKnown,
} from "./waitlist.store";
