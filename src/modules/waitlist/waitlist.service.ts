import { eventScope, invalidateEventSeats } from "../../cache";
import { config } from "../../config";
import type { AuthUser } from "../../domain/auth-user";
import { DomainError, ErrorCode } from "../../domain/errors";
import { afterCommit } from "../../messaging/after-commit";
import { sql } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { waitlistOffers } from "../../platform/metrics";
import * as inventory from "../inventory/inventory.service";
import { declineOffer, promoteNextInLine, withdrawGathering } from "./waitlist.offers";
import * as offersRepo from "./waitlist.offers.repo";
import * as repo from "./waitlist.repo";
import { type AcceptedOfferDto, toOfferDto, type WaitlistEntryDto, type WaitlistOfferDto } from "./waitlist.schemas";
import * as store from "./waitlist.store";

/**
 * Seconds until a party is likely served: the seats wanted by everyone ahead plus this party,
 * at the rate seats were released in the event over the last hour (cancellations, declined and
 * expired offers). Null when nothing was released in that hour: no history, no guess.
 */
export function estimateWaitSeconds(seatsNeeded: number, releasedLastHour: number): number | null {
  if (releasedLastHour <= 0) return null;
  return Math.ceil((seatsNeeded * 3600) / releasedLastHour);
}

async function entryDto(eventId: number, p: store.WaitlistPosition): Promise<WaitlistEntryDto> {
  const released = await offersRepo.releasesLastHour(sql, eventId);
  return {
    event_id: eventId,
    position: p.position,
    ahead: p.position - 1,
    party_size: p.partySize,
    size: p.size,
    joined_at: new Date(p.joinedAtMs).toISOString(),
    estimated_wait_seconds: estimateWaitSeconds(p.seatsAhead + p.partySize, released),
  };
}

/**
 * Joins the line of a sold-out event with a party of `partySize` (all or nothing); joining
 * again keeps the first place and party size (created: false). An event with fewer free seats
 * than the party can be joined: those seats gather for the party at once.
 */
export async function join(
  actor: AuthUser,
  eventId: number,
  partySize = 1,
): Promise<{ created: boolean; entry: WaitlistEntryDto }> {
  const event = await repo.readWaitlistEventState(sql, eventId, actor.id);
  if (!event) throw new DomainError(ErrorCode.EVENT_NOT_FOUND, `Event ${eventId} does not exist.`);
  if (event.started) throw new DomainError(ErrorCode.EVENT_STARTED, "The event has already started.");
  if (event.userHasBooking) {
    throw new DomainError(ErrorCode.ALREADY_BOOKED_EVENT, "You already have a booking for this event.");
  }
  const current = await store.waitlistPosition(eventId, actor.id);
  if (current) return { created: false, entry: await entryDto(eventId, current) };
  if (event.available >= partySize) {
    throw new DomainError(
      ErrorCode.SEATS_AVAILABLE,
      partySize === 1
        ? "Seats are still available: book one instead of waiting."
        : `${event.available} seats are still available: book ${partySize} instead of waiting.`,
    );
  }
  const joined = await store.joinWaitlist(eventId, actor.id, Date.now(), partySize);
  await invalidateEventSeats(eventId); // the event document shows waitlist_size
  if (joined.added) {
    await offersRepo
      .recordJoin(sql, eventId, actor.id, partySize)
      .catch((err) => logger.warn({ err: errorMessage(err), event_id: eventId }, "waitlist join not recorded"));
    // Seats freed between our availability check and the join (or too few for a party to book)
    // found nobody waiting and stayed AVAILABLE: serve the line now.
    if ((await repo.lowestAvailableSeatId(sql, eventId)) !== undefined) await promoteNextInLine(eventId);
  }
  const p = await store.waitlistPosition(eventId, actor.id);
  // Served at once (an offer made) and so off the line: answer the entry as it was joined.
  const entry = p
    ? await entryDto(eventId, p)
    : await entryDto(eventId, { position: 1, size: 1, joinedAtMs: Date.now(), partySize, seatsAhead: 0 });
  return { created: joined.added, entry };
}

export async function position(actor: AuthUser, eventId: number): Promise<WaitlistEntryDto> {
  const p = await store.waitlistPosition(eventId, actor.id);
  if (!p) throw new DomainError(ErrorCode.NOT_ON_WAITLIST, `You are not on the waitlist of event ${eventId}.`);
  return entryDto(eventId, p);
}

/** Leaves the line; seats gathered for the party go on to the next in line. */
export async function leave(actor: AuthUser, eventId: number): Promise<void> {
  if (!(await store.leaveWaitlist(eventId, actor.id))) {
    throw new DomainError(ErrorCode.NOT_ON_WAITLIST, `You are not on the waitlist of event ${eventId}.`);
  }
  await withdrawGathering(eventId, actor.id).catch((err) =>
    logger.warn({ err: errorMessage(err), event_id: eventId }, "gathered seats kept: withdrawal failed"),
  );
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
    party_size: e.partySize,
    joined_at: new Date(e.joinedAtMs).toISOString(),
  }));
}

const offerNotFound = (id: number) => new DomainError(ErrorCode.OFFER_NOT_FOUND, `Offer ${id} does not exist.`);

/** Why an offer the caller owns cannot be answered, or nothing when it can. */
function unanswerable(o: offersRepo.OfferView): DomainError | undefined {
  if (o.status === "PENDING" || o.status === "WITHDRAWN") return offerNotFound(o.id);
  if (o.status === "EXPIRED" || (o.status === "OFFERED" && o.expired)) {
    return new DomainError(ErrorCode.OFFER_EXPIRED, `Offer ${o.id} expired at ${o.expiresAt.toISOString()}.`);
  }
  if (o.status !== "OFFERED") {
    return new DomainError(ErrorCode.OFFER_ANSWERED, `Offer ${o.id} was already answered (${o.status}).`);
  }
  return undefined;
}

/** The caller's offers, newest first (gathering ones are not offers yet: see the position). */
export async function myOffers(actor: AuthUser, limit = 100): Promise<WaitlistOfferDto[]> {
  return (await offersRepo.offersOfUser(sql, actor.id, limit)).map(toOfferDto);
}

/**
 * Accepts an offer: its seats become the caller's bookings in one transaction (the booking
 * function, with the same locks and checks as any booking; a trigger marks the offer ACCEPTED).
 */
export async function acceptOffer(actor: AuthUser, offerId: number): Promise<AcceptedOfferDto> {
  const known = await offersRepo.findOffer(sql, offerId);
  if (!known || known.userId !== actor.id) throw offerNotFound(offerId);
  const early = unanswerable(known);
  if (early) throw early;
  const outcome = await sql.begin(async (tx) => {
    await inventory.lockUserForEvent(tx, actor.id, known.eventId);
    const o = await offersRepo.findOffer(tx, offerId, true);
    if (!o) throw offerNotFound(offerId);
    const refused = unanswerable(o);
    if (refused) throw refused;
    const booked = await inventory.bookSeats(
      tx,
      actor.id,
      o.eventId,
      { seatNumbers: [...o.seatNumbers].sort((a, b) => a - b) },
      config.MAX_SEATS_PER_USER_PER_EVENT,
    );
    if (booked.code === "OK") return booked;
    if (booked.code === "EVENT_NOT_FOUND" || booked.code === "EVENT_STARTED") {
      throw new DomainError(ErrorCode[booked.code], `Event ${o.eventId} is no longer open.`);
    }
    if (booked.code === "USER_SEAT_LIMIT") {
      throw new DomainError(
        ErrorCode.USER_SEAT_LIMIT,
        `You may hold at most ${booked.max} seats for this event; you hold ${booked.booked}.`,
      );
    }
    throw new DomainError(ErrorCode.OFFER_EXPIRED, `The seats of offer ${offerId} are no longer held for you.`);
  });
  const seats = outcome.bookings.map((b) => ({
    eventId: known.eventId,
    seatNumber: b.seat_number,
    status: "BOOKED" as const,
    version: b.version,
  }));
  await afterCommit({ invalidate: [eventScope(known.eventId)], outbox: true, seats });
  waitlistOffers.inc({ outcome: "accepted" });
  logger.info({ offer_id: offerId, user_id: actor.id }, "waitlist offer accepted");
  return {
    bookings: outcome.bookings.map((b) => ({
      booking_id: b.booking_id,
      event_id: known.eventId,
      seat_number: b.seat_number,
      status: "BOOKED" as const,
      venue: outcome.venue,
      event_name: outcome.event_name,
      created_at: new Date(b.created_at).toISOString(),
      cancelled_at: null,
    })),
  };
}

/** Declines an offer: its seats go to the next in line at once (same transaction). */
export async function declineMyOffer(actor: AuthUser, offerId: number): Promise<WaitlistOfferDto> {
  const answer = await declineOffer(actor.id, offerId);
  if (answer.ok) return toOfferDto(answer.offer);
  if (!answer.offer || answer.offer.userId !== actor.id) throw offerNotFound(offerId);
  throw unanswerable(answer.offer) ?? offerNotFound(offerId);
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
export {
  afterOffer,
  expireOffers,
  offerSeatInTransaction,
  peekHeadOfLine,
  promoteNextInLine,
  type SeatChange,
} from "./waitlist.offers";
export {
  dropWaitlist,
  headOfLine,
  waitlistIndexKey,
  waitlistKey,
  waitlistSize,
  waitlistSizeIfKnown,
} from "./waitlist.store";
