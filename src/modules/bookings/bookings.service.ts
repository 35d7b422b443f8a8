import { invalidateEventSeats } from "../../cache/scopes";
import { config } from "../../config";
import type { AuthUser } from "../../domain/auth-user";
import { AppError, conflict, ErrorCode, notFound } from "../../domain/errors";
import { Streams } from "../../messaging/catalog";
import { writeOutbox } from "../../messaging/outbox";
import { kickOutboxRelay } from "../../messaging/relay";
import { db, type Tx } from "../../platform/db";
import { runIdempotent, type StoredResponse } from "../../platform/idempotency";
import { bookingConflicts, bookingsTotal, cancellationsTotal, waitlistOffers } from "../../platform/metrics";
import { afterOffer, offerSeatInTransaction, peekHeadOfLine } from "../waitlist/waitlist.offers";
import * as repo from "./bookings.repo";
import { lockUserForEvent } from "./bookings.repo";
import { type BookingDto, toBookingDto } from "./bookings.schemas";

export type SeatRequest = { seatNumbers: number[] } | { quantity: number };

const listSeats = (nums: number[]) => nums.slice(0, 10).join(", ") + (nums.length > 10 ? ", …" : "");

/** Input rules that need no database: checked before any transaction opens. */
export function checkSeatRequest(req: SeatRequest): void {
  const n = "quantity" in req ? req.quantity : req.seatNumbers.length;
  if (n > config.MAX_SEATS_PER_BOOKING) {
    throw new AppError(422, ErrorCode.TOO_MANY_SEATS, `At most ${config.MAX_SEATS_PER_BOOKING} seats per booking.`, [
      { field: "quantity" in req ? "json.quantity" : "json.seat_numbers", message: "too many seats" },
    ]);
  }
  if ("seatNumbers" in req && new Set(req.seatNumbers).size !== req.seatNumbers.length) {
    throw new AppError(422, ErrorCode.VALIDATION_FAILED, "seat_numbers must not repeat a seat.", [
      { field: "json.seat_numbers", message: "duplicate seat number" },
    ]);
  }
}

/**
 * The booking transaction. Locks: the user's (user, event) advisory lock, then the seats in
 * ascending seat order (or SKIP LOCKED for best available). The event's state and the user's
 * seat count are read after both locks, in a statement of their own, so they reflect every
 * transaction that held those locks before us (a concurrent event delete locks seats too).
 */
async function bookInTransaction(
  tx: Tx,
  user: AuthUser,
  eventId: number,
  req: SeatRequest,
): Promise<{ bookings: BookingDto[]; acceptedOffers: number }> {
  const wanted = "quantity" in req ? req.quantity : req.seatNumbers.length;
  const seats =
    "quantity" in req
      ? await repo.lockBestAvailable(tx, user.id, eventId, req.quantity)
      : await repo.lockSeatsByNumber(
          tx,
          user.id,
          eventId,
          [...req.seatNumbers].sort((a, b) => a - b),
        );
  const event = await repo.readEventState(tx, eventId, user.id);

  if (!event || event.deleted) throw notFound(ErrorCode.EVENT_NOT_FOUND, `Event ${eventId} does not exist.`);
  if (event.started) throw conflict(ErrorCode.EVENT_STARTED, "The event has already started.");
  if ("seatNumbers" in req && seats.length < req.seatNumbers.length) {
    const found = new Set(seats.map((s) => s.seat_number));
    const missing = req.seatNumbers.filter((n) => !found.has(n));
    throw notFound(ErrorCode.SEAT_NOT_FOUND, `Event ${eventId} has no seat ${listSeats(missing)}.`);
  }
  const booked = seats.filter((s) => s.status === "BOOKED").map((s) => s.seat_number);
  if (booked.length > 0) {
    throw conflict(ErrorCode.SEAT_ALREADY_BOOKED, `Seat ${listSeats(booked)} is already booked.`);
  }
  const heldForOthers = seats
    .filter((s) => s.status === "HELD" && s.held_by !== user.id && !s.hold_expired)
    .map((s) => s.seat_number);
  if (heldForOthers.length > 0) {
    throw conflict(ErrorCode.SEAT_HELD, `Seat ${listSeats(heldForOthers)} is held for someone on the waitlist.`);
  }
  if (seats.length < wanted) {
    throw conflict(ErrorCode.NOT_ENOUGH_SEATS, `Only ${seats.length} seats are free right now; ${wanted} requested.`);
  }
  if (event.user_booked + wanted > config.MAX_SEATS_PER_USER_PER_EVENT) {
    throw conflict(
      ErrorCode.USER_SEAT_LIMIT,
      `You may hold at most ${config.MAX_SEATS_PER_USER_PER_EVENT} seats for this event; you hold ${event.user_booked}.`,
    );
  }

  const acceptedOffers = seats.filter((s) => s.status === "HELD" && s.held_by === user.id).length;
  const rows = await repo.bookLockedSeats(tx, user.id, eventId, seats);
  const bookings = rows.map((r) =>
    toBookingDto({
      ...r,
      event_id: eventId,
      user_id: user.id,
      seat_id: null,
      status: "BOOKED",
      venue: event.venue,
      event_name: event.name,
      cancelled_at: null,
      event_started: false,
    }),
  );
  return { bookings, acceptedOffers };
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
  let outcome = { seats: 0, acceptedOffers: 0 };
  let stored: StoredResponse;
  try {
    stored = await runIdempotent(
      { userId: user.id, key: options.idempotencyKey, fingerprint: options.fingerprint },
      async (tx) => {
        const { bookings, acceptedOffers } = await bookInTransaction(tx, user, eventId, req);
        outcome = { seats: bookings.length, acceptedOffers };
        return { status: 201, body: options.single ? bookings[0] : { bookings } };
      },
    );
  } catch (err) {
    if (err instanceof AppError && err.status === 409) bookingConflicts.inc({ code: err.code });
    throw err;
  }
  if (!stored.replayed && stored.status === 201) {
    // Before answering: nobody may read the seat as free from the cache after this response.
    await invalidateEventSeats(eventId);
    bookingsTotal.inc({ path }, outcome.seats);
    if (outcome.acceptedOffers > 0) waitlistOffers.inc({ outcome: "accepted" }, outcome.acceptedOffers);
  }
  return stored;
}

/** Someone else's booking answers exactly like a missing one: booking ids are not enumerable. */
function visibleTo(actor: AuthUser, id: number, row: repo.BookingRow | undefined): repo.BookingRow {
  if (!row || (row.user_id !== actor.id && !actor.isAdmin)) {
    throw notFound(ErrorCode.BOOKING_NOT_FOUND, `Booking ${id} does not exist.`);
  }
  return row;
}

export async function getBooking(actor: AuthUser, id: number): Promise<BookingDto> {
  return toBookingDto(visibleTo(actor, id, await repo.findBooking(id)));
}

export async function listMyBookings(actor: AuthUser, limit: number, offset: number) {
  const { rows, total } = await repo.listUserBookings(actor.id, limit, offset);
  return { bookings: rows.map(toBookingDto), total };
}

/**
 * Cancels a booking. The freed seat goes straight to the head of the event's waitlist as an offer
 * in the same transaction (so no fast buyer can take it in between); with nobody waiting, or
 * Redis unable to say who is, it becomes AVAILABLE and `seat.released` is published for the
 * promoter. Lock order as in booking: the head's (user, event) lock, then the seat.
 */
export async function cancelBooking(actor: AuthUser, id: number): Promise<BookingDto> {
  const known = visibleTo(actor, id, await repo.findBooking(id));
  const head = known.status === "BOOKED" ? await peekHeadOfLine(known.event_id) : undefined;
  const candidate = head !== known.user_id ? head : undefined;
  const done = await db.transaction(async (tx) => {
    const booking = visibleTo(actor, id, await repo.findBooking(id, tx));
    if (booking.status !== "BOOKED" || booking.seat_id === null) {
      throw conflict(ErrorCode.BOOKING_ALREADY_CANCELLED, `Booking ${id} is already cancelled.`);
    }
    // Once the doors open a user can no longer hand a seat back; an admin still can.
    if (booking.event_started && !actor.isAdmin) {
      throw conflict(ErrorCode.EVENT_STARTED, "The event has already started; the booking can no longer be cancelled.");
    }
    if (candidate !== undefined) await lockUserForEvent(tx, candidate, booking.event_id);
    await repo.lockSeatById(tx, booking.seat_id);
    const cancelled = await repo.cancelBookedBooking(tx, id);
    if (!cancelled) throw conflict(ErrorCode.BOOKING_ALREADY_CANCELLED, `Booking ${id} is already cancelled.`);
    const offered =
      candidate !== undefined &&
      (await offerSeatInTransaction(tx, booking.event_id, booking.seat_id, candidate)) === "offered";
    if (!offered) {
      await writeOutbox(tx, [
        {
          stream: Streams.seatReleased,
          payload: {
            event_id: booking.event_id,
            seat_id: booking.seat_id,
            seat_number: booking.seat_number,
            reason: "cancelled",
          },
        },
      ]);
    }
    return { dto: toBookingDto(cancelled), seatId: booking.seat_id, offeredTo: offered ? candidate : undefined };
  });
  if (done.offeredTo !== undefined) {
    await afterOffer(done.dto.event_id, done.seatId, done.offeredTo);
  } else {
    await invalidateEventSeats(done.dto.event_id);
    kickOutboxRelay();
  }
  cancellationsTotal.inc();
  return done.dto;
}
