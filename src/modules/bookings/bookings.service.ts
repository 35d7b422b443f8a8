import { eventScope } from "../../cache";
import { config } from "../../config";
import type { AuthUser } from "../../domain/auth-user";
import { DomainError, ErrorCode } from "../../domain/errors";
import { runIdempotent, type StoredResponse } from "../../http/idempotency";
import { afterCommit, type SeatChange } from "../../messaging/after-commit";
import { Streams } from "../../messaging/catalog";
import { domainEvent } from "../../messaging/domain-events";
import { writeOutbox } from "../../messaging/outbox";
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

/** Someone else's booking answers exactly like a missing one: booking ids are not enumerable. */
function visibleTo(actor: AuthUser, id: number, row: repo.BookingRow | undefined): repo.BookingRow {
  if (!row || (row.userId !== actor.id && !actor.isAdmin)) {
    throw new DomainError(ErrorCode.BOOKING_NOT_FOUND, `Booking ${id} does not exist.`);
  }
  return row;
}

export async function getBooking(actor: AuthUser, id: number): Promise<BookingDto> {
  return toBookingDto(visibleTo(actor, id, await repo.findBooking(sql, id)));
}

export async function listMyBookings(actor: AuthUser, limit: number, offset: number) {
  const { rows, total } = await repo.listUserBookings(sql, actor.id, limit, offset);
  return { bookings: rows.map(toBookingDto), total };
}

/**
 * Cancels a booking. The freed seat goes straight to the head of the event's waitlist as an offer
 * in the same transaction (so no fast buyer can take it in between); with nobody waiting, or
 * Redis unable to say who is, it becomes AVAILABLE and `seat.released` is published for the
 * promoter. Lock order as in booking: the head's (user, event) lock, then the seat.
 */
export async function cancelBooking(actor: AuthUser, id: number): Promise<BookingDto> {
  const known = visibleTo(actor, id, await repo.findBooking(sql, id));
  const head = known.status === "BOOKED" ? await peekHeadOfLine(known.eventId) : undefined;
  const candidate = head !== known.userId ? head : undefined;
  const done = await sql.begin(async (tx) => {
    const booking = visibleTo(actor, id, await repo.findBooking(tx, id));
    if (booking.status !== "BOOKED" || booking.seatId === null) {
      throw new DomainError(ErrorCode.BOOKING_ALREADY_CANCELLED, `Booking ${id} is already cancelled.`);
    }
    // Once the doors open a user can no longer hand a seat back; an admin still can.
    if (booking.eventStarted && !actor.isAdmin) {
      throw new DomainError(
        ErrorCode.EVENT_STARTED,
        "The event has already started; the booking can no longer be cancelled.",
      );
    }
    if (candidate !== undefined) await inventory.lockUserForEvent(tx, candidate, booking.eventId);
    await inventory.lockSeatById(tx, booking.seatId);
    const cancelled = await repo.cancelBookedBooking(tx, id);
    if (!cancelled) throw new DomainError(ErrorCode.BOOKING_ALREADY_CANCELLED, `Booking ${id} is already cancelled.`);
    const offered =
      candidate !== undefined &&
      (await offerSeatInTransaction(tx, booking.eventId, booking.seatId, candidate)) === "offered";
    const dto = toBookingDto(cancelled);
    await writeOutbox(tx, [
      domainEvent("booking.cancelled", booking.eventId, {
        ...dto,
        user_id: booking.userId,
        cancelled_by: actor.id,
        seat_offered_to_waitlist: offered,
      }),
      ...(offered
        ? []
        : [
            {
              stream: Streams.seatReleased,
              payload: {
                event_id: booking.eventId,
                seat_id: booking.seatId,
                seat_number: booking.seatNumber,
                reason: "cancelled" as const,
              },
            },
          ]),
    ]);
    return { dto, seatId: booking.seatId, offeredTo: offered ? candidate : undefined };
  });
  if (done.offeredTo !== undefined) {
    await afterOffer(done.dto.event_id, done.seatId, done.offeredTo);
  } else {
    // The freed seat's state for live subscribers; a failed read only delays them (reconcile).
    const seats = await inventory.liveSeatStates(sql, [done.seatId]).catch((err) => {
      logger.warn({ err: errorMessage(err), seat_id: done.seatId }, "seat state for live subscribers not read");
      return [];
    });
    await afterCommit({ invalidate: [eventScope(done.dto.event_id)], outbox: true, seats });
  }
  cancellationsTotal.inc();
  return done.dto;
}
