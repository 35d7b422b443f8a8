import { eventScope } from "../../cache";
import { config } from "../../config";
import type { AuthUser } from "../../domain/auth-user";
import { DomainError, ErrorCode } from "../../domain/errors";
import { runIdempotent, type StoredResponse } from "../../http/idempotency";
import { afterCommit, type SeatChange } from "../../messaging/after-commit";
import { Streams } from "../../messaging/catalog";
import { domainEvent } from "../../messaging/domain-events";
import { type OutboxRow, writeOutbox } from "../../messaging/outbox";
import { type Executor, sql } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { bookingConflicts, bookingsTotal, cancellationsTotal, waitlistOffers } from "../../platform/metrics";
import * as inventory from "../inventory/inventory.service";
import { afterOffer, offerSeatInTransaction, peekHeadOfLine } from "../waitlist/waitlist.service";
import * as repo from "./bookings.repo";

import { type BookingDto, toBookingDto } from "./bookings.schemas";

/** Refusals counted in evently_booking_conflicts_total: the seats or the event said no. */
const SEAT_CONFLICTS: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.SEAT_ALREADY_BOOKED,
  ErrorCode.SEAT_HELD,
  ErrorCode.HOLD_EXPIRED,
  ErrorCode.EVENT_STARTED,
  ErrorCode.NOT_ENOUGH_SEATS,
  ErrorCode.USER_SEAT_LIMIT,
]);

export type SeatRequest = { seatNumbers: number[] } | { quantity: number };

const listSeats = (nums: number[]) => nums.slice(0, 10).join(", ") + (nums.length > 10 ? ", …" : "");

/** Input rules that need no database: checked before any transaction opens. */
export function checkSeatRequest(req: SeatRequest): void {
  const n = "quantity" in req ? req.quantity : req.seatNumbers.length;
  if (n > config.MAX_SEATS_PER_BOOKING) {
    throw new DomainError(ErrorCode.TOO_MANY_SEATS, `At most ${config.MAX_SEATS_PER_BOOKING} seats per booking.`, {
      errors: [{ field: "quantity" in req ? "json.quantity" : "json.seat_numbers", message: "too many seats" }],
    });
  }
  if ("seatNumbers" in req && new Set(req.seatNumbers).size !== req.seatNumbers.length) {
    throw new DomainError(ErrorCode.VALIDATION_FAILED, "seat_numbers must not repeat a seat.", {
      errors: [{ field: "json.seat_numbers", message: "duplicate seat number" }],
    });
  }
}

/** A refusal of the booking function as the client reads it. */
function refusal(eventId: number, outcome: Exclude<inventory.BookingOutcome, { code: "OK" }>): DomainError {
  switch (outcome.code) {
    case "EVENT_NOT_FOUND":
      return new DomainError(ErrorCode.EVENT_NOT_FOUND, `Event ${eventId} does not exist.`);
    case "EVENT_STARTED":
      return new DomainError(ErrorCode.EVENT_STARTED, "The event has already started.");
    case "SEAT_NOT_FOUND":
      return new DomainError(ErrorCode.SEAT_NOT_FOUND, `Event ${eventId} has no seat ${listSeats(outcome.seats)}.`);
    case "SEAT_ALREADY_BOOKED":
      return new DomainError(ErrorCode.SEAT_ALREADY_BOOKED, `Seat ${listSeats(outcome.seats)} is already booked.`);
    case "SEAT_HELD":
      return new DomainError(ErrorCode.SEAT_HELD, `Seat ${listSeats(outcome.seats)} is held for someone else.`);
    case "HOLD_EXPIRED":
      return new DomainError(ErrorCode.HOLD_EXPIRED, `Your hold on seat ${listSeats(outcome.seats)} has expired.`);
    case "NOT_ENOUGH_SEATS":
      return new DomainError(
        ErrorCode.NOT_ENOUGH_SEATS,
        `Only ${outcome.free} seats are free right now; ${outcome.wanted} requested.`,
      );
    case "USER_SEAT_LIMIT":
      return new DomainError(
        ErrorCode.USER_SEAT_LIMIT,
        `You may hold at most ${outcome.max} seats for this event; you hold ${outcome.booked}.`,
      );
  }
}

/**
 * One booking: the whole transaction is the database function book_seats (one statement, one
 * round trip; lock order and checks in migrations/0009_hot_path.sql), run on `ex` (the
 * pool, or an Idempotency-Key's transaction).
 */
async function bookOnce(
  ex: Executor,
  user: AuthUser,
  eventId: number,
  req: SeatRequest,
): Promise<{ bookings: BookingDto[]; acceptedOffers: number; seats: SeatChange[] }> {
  const request = "quantity" in req ? req : { seatNumbers: [...req.seatNumbers].sort((a, b) => a - b) };
  const outcome = await inventory.bookSeats(ex, user.id, eventId, request, config.MAX_SEATS_PER_USER_PER_EVENT);
  if (outcome.code !== "OK") throw refusal(eventId, outcome);
  const bookings = outcome.bookings.map((b) =>
    toBookingDto({
      bookingId: b.booking_id,
      seatNumber: b.seat_number,
      createdAt: new Date(b.created_at),
      eventId,
      userId: user.id,
      seatId: null,
      status: "BOOKED",
      venue: outcome.venue,
      eventName: outcome.event_name,
      cancelledAt: null,
      eventStarted: false,
    }),
  );
  const seats = outcome.bookings.map(
    (b): SeatChange => ({ eventId, seatNumber: b.seat_number, status: "BOOKED", version: b.version }),
  );
  return { bookings, acceptedOffers: outcome.accepted_offers, seats };
}

/** Books seats (one, several by number, or best available); `single` shapes the seed's one-seat answer. */
export async function bookSeats(
  user: AuthUser,
  eventId: number,
  req: SeatRequest,
  options: { single: boolean; idempotencyKey?: string; fingerprint: string },
): Promise<StoredResponse> {
  checkSeatRequest(req);
  const path = options.single ? "single" : "quantity" in req ? "quantity" : "seats";
  let outcome = { seats: 0, acceptedOffers: 0, changes: [] as SeatChange[] };
  let stored: StoredResponse;
  try {
    stored = await runIdempotent(
      { userId: user.id, key: options.idempotencyKey, fingerprint: options.fingerprint },
      async (ex) => {
        const { bookings, acceptedOffers, seats } = await bookOnce(ex, user, eventId, req);
        outcome = { seats: bookings.length, acceptedOffers, changes: seats };
        return { status: 201, body: options.single ? bookings[0] : { bookings } };
      },
    );
  } catch (err) {
    if (err instanceof DomainError && SEAT_CONFLICTS.has(err.code)) bookingConflicts.inc({ code: err.code });
    throw err;
  }
  if (!stored.replayed && stored.status === 201) {
    // Before answering: nobody may read the seat as free from the cache after this response.
    await afterCommit({ invalidate: [eventScope(eventId)], seats: outcome.changes });
    bookingsTotal.inc({ path }, outcome.seats);
    if (outcome.acceptedOffers > 0) waitlistOffers.inc({ outcome: "accepted" }, outcome.acceptedOffers);
  }
  return stored;
}

const notFound = (id: number) => new DomainError(ErrorCode.BOOKING_NOT_FOUND, `Booking ${id} does not exist.`);
const alreadyCancelled = (id: number) =>
  new DomainError(ErrorCode.BOOKING_ALREADY_CANCELLED, `Booking ${id} is already cancelled.`);

/** Someone else's booking answers exactly like a missing one: booking ids are not enumerable. */
function visibleTo(actor: AuthUser, id: number, row: repo.BookingRow | undefined): repo.BookingRow {
  if (!row || (row.userId !== actor.id && !actor.isAdmin)) throw notFound(id);
  return row;
}

export async function getBooking(actor: AuthUser, id: number): Promise<BookingDto> {
  return toBookingDto(visibleTo(actor, id, await repo.findBooking(sql, id)));
}

export async function listMyBookings(actor: AuthUser, limit: number, offset: number) {
  const { rows, total } = await repo.listUserBookings(sql, actor.id, limit, offset);
  return { bookings: rows.map(toBookingDto), total };
}

/** A refusal of cancel_booking as the client reads it. */
function cancelRefusal(id: number, outcome: Exclude<repo.CancelOutcome, { code: "OK" }>): DomainError {
  switch (outcome.code) {
    case "BOOKING_NOT_FOUND":
      return notFound(id);
    case "BOOKING_ALREADY_CANCELLED":
      return alreadyCancelled(id);
    case "EVENT_STARTED":
      // Once the doors open a user can no longer hand a seat back; an admin still can.
      return new DomainError(
        ErrorCode.EVENT_STARTED,
        "The event has already started; the booking can no longer be cancelled.",
      );
  }
}

function cancelled(id: number, outcome: repo.CancelOutcome): Extract<repo.CancelOutcome, { code: "OK" }> {
  if (outcome.code !== "OK") throw cancelRefusal(id, outcome);
  return outcome;
}

/** The outbox rows of a cancel (docs/webhooks.md): `data` gets the booking, as the API answers it. */
function announcements(booking: repo.BookingRow, seatId: number, actor: AuthUser, data: Record<string, unknown> = {}) {
  return {
    cancelled: domainEvent("booking.cancelled", booking.eventId, {
      user_id: booking.userId,
      cancelled_by: actor.id,
      ...data,
    }),
    released: {
      stream: Streams.seatReleased,
      payload: { event_id: booking.eventId, seat_id: seatId, seat_number: booking.seatNumber, reason: "cancelled" },
    } satisfies OutboxRow,
  };
}

/**
 * Cancels a booking. The freed seat goes straight to the head of the event's waitlist as an offer
 * in the same transaction (so no fast buyer can take it in between); with nobody waiting, or
 * Redis unable to say who is, it becomes AVAILABLE and `seat.released` is published for the
 * promoter. Nobody waiting (the common case): one statement, cancel_booking, which writes the
 * outbox rows (booking.cancelled only while a webhook subscription wants it). Someone waiting: their (user, event) lock first, then cancel_booking's seat lock,
 * as in booking, then the handover; the outbox rows follow from whether the seat was offered.
 */
export async function cancelBooking(actor: AuthUser, id: number): Promise<BookingDto> {
  const known = visibleTo(actor, id, await repo.findBooking(sql, id));
  if (known.status !== "BOOKED" || known.seatId === null) throw alreadyCancelled(id);
  const head = await peekHeadOfLine(known.eventId);
  const candidate = head !== known.userId ? head : undefined;
  const announce = announcements(known, known.seatId, actor);
  if (candidate === undefined) {
    const done = cancelled(id, await repo.cancelBooking(sql, id, actor, false, announce));
    const seat: SeatChange = {
      eventId: known.eventId,
      seatNumber: done.booking.seat_number,
      status: "AVAILABLE",
      version: done.version,
    };
    await afterCommit({ invalidate: [eventScope(known.eventId)], outbox: true, seats: [seat] });
    cancellationsTotal.inc();
    return done.booking;
  }
  const done = await sql.begin(async (tx) => {
    await inventory.lockUserForEvent(tx, candidate, known.eventId);
    const outcome = cancelled(id, await repo.cancelBooking(tx, id, actor, true, announce));
    const offered = (await offerSeatInTransaction(tx, known.eventId, outcome.seat_id, candidate)) === "offered";
    const rows = announcements(known, outcome.seat_id, actor, {
      ...outcome.booking,
      seat_offered_to_waitlist: offered,
    });
    await writeOutbox(tx, offered ? [rows.cancelled] : [rows.cancelled, rows.released]);
    return { ...outcome, offered };
  });
  if (done.offered) {
    await afterOffer(known.eventId, done.seat_id, candidate);
  } else {
    // The seat was gathered for the head's party or left AVAILABLE: its state for live
    // subscribers; a failed read only delays them (reconcile).
    const seats = await inventory.liveSeatStates(sql, [done.seat_id]).catch((err) => {
      logger.warn({ err: errorMessage(err), seat_id: done.seat_id }, "seat state for live subscribers not read");
      return [];
    });
    await afterCommit({ invalidate: [eventScope(known.eventId)], outbox: true, seats });
  }
  cancellationsTotal.inc();
  return done.booking;
}
