import { randomBytes } from "node:crypto";
import { config } from "../../config";
import type { AuthUser } from "../../domain/auth-user";
import { DomainError, ErrorCode } from "../../domain/errors";
import { runIdempotent, type StoredResponse } from "../../http/idempotency";
import type { SeatChange } from "../../messaging/after-commit";
import { domainEvent } from "../../messaging/domain-events";
import { type Executor, sql, type Tx } from "../../platform/db";
import { type BookingDto, toBookingDto } from "../bookings/bookings.schemas";
import { checkSeatRequest } from "../bookings/bookings.service";
import { afterEnd, endActiveHold, headsFor, published } from "./holds.expiry";
import * as repo from "./holds.repo";
import { type HoldDto, toHoldDto } from "./holds.schemas";
import { pickTogether } from "./holds.together";

export { expireHolds } from "./holds.expiry";

/**
 * Checkout holds (docs/holds.md): seats HELD for one user until `expires_at`, then confirmed
 * into bookings, released, or expired by the janitor. Lock order, everywhere: the hold owner's
 * (user, event) advisory lock (with the users a release hands seats to, ascending), then the hold
 * row, then its seats in ascending seat number, as booking does; every check after the locks.
 */

export type HoldRequest = { seatNumbers: number[] } | { quantity: number; together: boolean };

// Attempts at locking a `together` block that concurrent holders keep taking first.
const TOGETHER_ATTEMPTS = 5;

const changes = (eventId: number, seatNumbers: number[], status: SeatChange["status"]): SeatChange[] =>
  seatNumbers.map((seatNumber) => ({ eventId, seatNumber, status }));

const notFound = (token: string) =>
  new DomainError(ErrorCode.HOLD_NOT_FOUND, `Hold ${token.slice(0, 6)}… does not exist.`);

/** Someone else's hold answers exactly like a missing one. */
function visible(actor: AuthUser, token: string, row: repo.HoldRow | undefined): repo.HoldRow {
  if (!row || (row.userId !== actor.id && !actor.isAdmin)) throw notFound(token);
  return row;
}

const listSeats = (nums: number[]) => nums.slice(0, 10).join(", ") + (nums.length > 10 ? ", …" : "");

function createRefusal(
  eventId: number,
  outcome: Exclude<repo.CreateOutcome, { code: "OK" | "BLOCK_TAKEN" }>,
): DomainError {
  switch (outcome.code) {
    case "EVENT_NOT_FOUND":
      return new DomainError(ErrorCode.EVENT_NOT_FOUND, `Event ${eventId} does not exist.`);
    case "EVENT_STARTED":
      return new DomainError(ErrorCode.EVENT_STARTED, "The event has already started.");
    case "HOLD_LIMIT":
      return new DomainError(
        ErrorCode.HOLD_LIMIT,
        `You may have at most ${outcome.max} live holds for this event; confirm or release one first.`,
      );
    case "USER_SEAT_LIMIT":
      return new DomainError(
        ErrorCode.USER_SEAT_LIMIT,
        `You may hold at most ${outcome.max} seats for this event; you hold ${outcome.booked}.`,
      );
    case "SEAT_NOT_FOUND":
      return new DomainError(ErrorCode.SEAT_NOT_FOUND, `Event ${eventId} has no seat ${listSeats(outcome.seats)}.`);
    case "SEAT_ALREADY_BOOKED":
      return new DomainError(ErrorCode.SEAT_ALREADY_BOOKED, `Seat ${listSeats(outcome.seats)} is already booked.`);
    case "SEAT_HELD":
      return new DomainError(ErrorCode.SEAT_HELD, `Seat ${listSeats(outcome.seats)} is held.`);
    case "NOT_ENOUGH_SEATS":
      return new DomainError(
        ErrorCode.NOT_ENOUGH_SEATS,
        `Only ${outcome.free} seats are free right now; ${outcome.wanted} requested.`,
      );
  }
}

/**
 * One hold on `ex` (the pool, or an Idempotency-Key's transaction): create_hold is one statement
 * (locks, checks, the hold, its seats, and `hold.created` in the outbox), so nothing is left
 * locked between statements. For `together` the block is chosen here from the free seats as
 * read, and create_hold locks it without waiting; seats someone else took meanwhile count as
 * taken in the next choice.
 */
async function createOn(
  ex: Executor,
  user: AuthUser,
  eventId: number,
  req: HoldRequest,
): Promise<{ hold: HoldDto; seats: SeatChange[] }> {
  const token = randomBytes(24).toString("base64url");
  const limits = {
    ttlSeconds: config.HOLD_TTL_SECONDS,
    maxPerUser: config.MAX_SEATS_PER_USER_PER_EVENT,
    maxHolds: config.MAX_HOLDS_PER_USER_PER_EVENT,
  };
  const hold = { userId: user.id, eventId, token };
  // create_hold fills in hold_id, seats and expires_at.
  const announce = domainEvent("hold.created", eventId, { user_id: user.id });
  const create = (seats: Parameters<typeof repo.createHold>[2]) => repo.createHold(ex, hold, seats, limits, announce);
  let outcome: repo.CreateOutcome | undefined;
  if ("seatNumbers" in req) {
    outcome = await create({ seatNumbers: req.seatNumbers, block: false });
  } else if (!req.together) {
    outcome = await create({ quantity: req.quantity });
  } else {
    const taken = new Set<number>();
    for (let attempt = 0; attempt < TOGETHER_ATTEMPTS; attempt++) {
      const free = (await repo.availableSeats(ex, eventId)).filter((s) => !taken.has(s.seatNumber));
      const block = pickTogether(free, req.quantity);
      if (!block) break;
      outcome = await create({ seatNumbers: block.map((s) => s.seatNumber), block: true });
      if (outcome.code !== "BLOCK_TAKEN") break;
      for (const n of outcome.seats) taken.add(n);
      outcome = undefined;
    }
    if (!outcome) {
      throw new DomainError(ErrorCode.NOT_ENOUGH_SEATS, `No ${req.quantity} adjacent seats are free right now.`);
    }
  }
  if (outcome.code === "BLOCK_TAKEN") throw new Error("create_hold answered BLOCK_TAKEN outside a block");
  if (outcome.code !== "OK") throw createRefusal(eventId, outcome);
  return {
    hold: {
      hold_id: outcome.hold_id,
      token,
      event_id: eventId,
      seats: outcome.seats,
      status: "ACTIVE",
      created_at: new Date(outcome.created_at_ms).toISOString(),
      expires_at: new Date(outcome.expires_at_ms).toISOString(),
      extensions: 0,
    },
    seats: changes(eventId, outcome.seats, "HELD"),
  };
}

/** `POST /events/{id}/holds`: all or nothing, Idempotency-Key honoured (replays answer the first 201). */
export async function createHold(
  user: AuthUser,
  eventId: number,
  req: HoldRequest,
  options: { idempotencyKey?: string; fingerprint: string },
): Promise<StoredResponse> {
  checkSeatRequest("seatNumbers" in req ? req : { quantity: req.quantity });
  const request = "seatNumbers" in req ? { seatNumbers: [...req.seatNumbers].sort((a, b) => a - b) } : req;
  let seats: SeatChange[] = [];
  const stored = await runIdempotent(
    { userId: user.id, key: options.idempotencyKey, fingerprint: options.fingerprint },
    async (ex) => {
      const made = await createOn(ex, user, eventId, request);
      seats = made.seats;
      return { status: 201, body: made.hold };
    },
  );
  if (!stored.replayed && stored.status === 201) await published(eventId, seats, true);
  return stored;
}

export async function getHold(actor: AuthUser, token: string): Promise<HoldDto> {
  return toHoldDto(visible(actor, token, await repo.findHoldByToken(sql, token)));
}

/** Locks the hold for a change: its owner's (user, event) lock (plus `others`), then the row. */
async function lockForChange(tx: Tx, actor: AuthUser, token: string, others: number[] = []): Promise<repo.HoldRow> {
  const known = visible(actor, token, await repo.findHoldByToken(tx, token));
  await repo.lockUsersForEvent(tx, [known.userId, ...others], known.eventId);
  const row = await repo.lockHold(tx, known.id);
  if (!row) throw notFound(token);
  return row;
}

function refuseEnded(row: repo.HoldRow): void {
  if (row.status === "EXPIRED" || (row.status === "ACTIVE" && !row.live)) {
    throw new DomainError(ErrorCode.HOLD_EXPIRED, `The hold expired at ${row.expiresAt.toISOString()}.`);
  }
  if (row.status !== "ACTIVE") {
    throw new DomainError(ErrorCode.HOLD_NOT_ACTIVE, `The hold is ${row.status.toLowerCase()}.`);
  }
}

/**
 * `PATCH /holds/{token}`: `expires_at` moves on by HOLD_TTL_SECONDS, capped at
 * HOLD_MAX_LIFETIME_SECONDS after creation; at most HOLD_MAX_EXTENSIONS times. An extension
 * that would gain nothing (the cap is reached) is refused like one too many.
 */
export async function extendHold(actor: AuthUser, token: string): Promise<HoldDto> {
  const row = await sql.begin(async (tx) => {
    const hold = await lockForChange(tx, actor, token);
    refuseEnded(hold);
    const cap = hold.createdAt.getTime() + config.HOLD_MAX_LIFETIME_SECONDS * 1000;
    const next = Math.min(hold.expiresAt.getTime() + config.HOLD_TTL_SECONDS * 1000, cap);
    if (hold.extensions >= config.HOLD_MAX_EXTENSIONS || next <= hold.expiresAt.getTime()) {
      throw new DomainError(
        ErrorCode.HOLD_EXTENSION_LIMIT,
        `A hold can be extended at most ${config.HOLD_MAX_EXTENSIONS} times and lasts at most ${config.HOLD_MAX_LIFETIME_SECONDS} s from creation.`,
      );
    }
    await repo.lockHoldSeats(tx, hold.id);
    return repo.setHoldExpiry(tx, hold.id, new Date(next));
  });
  await published(row.eventId, [], false);
  return toHoldDto(row);
}

/**
 * `DELETE /holds/{token}`: its seats go to the waitlist head or back on sale at once. Releasing a
 * hold that already ended is a no-op; a confirmed one cannot be released (cancel the bookings).
 */
export async function releaseHold(actor: AuthUser, token: string): Promise<void> {
  const known = visible(actor, token, await repo.findHoldByToken(sql, token));
  // Without Redis the seats go back on sale and through the promoter (seat.released).
  const heads = known.status === "ACTIVE" ? ((await headsFor(known.eventId, known.seatNumbers.length)) ?? []) : [];
  const ended = await sql.begin(async (tx) => {
    const hold = await lockForChange(tx, actor, token, heads);
    if (hold.status === "CONFIRMED") {
      throw new DomainError(ErrorCode.HOLD_NOT_ACTIVE, "The hold is confirmed; cancel its bookings instead.");
    }
    if (hold.status !== "ACTIVE") return undefined;
    return endActiveHold(tx, hold, heads, hold.live ? "RELEASED" : "EXPIRED");
  });
  if (ended) await afterEnd(ended);
}

/**
 * `POST /holds/{token}/confirm`: the held seats become the owner's bookings through the booking
 * function (same locks, same checks), in one statement (confirm_hold). Idempotent: a confirmed
 * hold answers its bookings again.
 */
export async function confirmHold(actor: AuthUser, token: string): Promise<{ bookings: BookingDto[] }> {
  const outcome = await repo.confirmHold(sql, token, actor, config.MAX_SEATS_PER_USER_PER_EVENT);
  if (outcome.code !== "OK") throw confirmRefusal(token, outcome);
  if (outcome.fresh) await published(outcome.eventId, changes(outcome.eventId, outcome.seats, "BOOKED"), false);
  return { bookings: outcome.bookings.map(toBookingDto) };
}

function confirmRefusal(token: string, outcome: Exclude<repo.ConfirmOutcome, { code: "OK" }>): DomainError {
  switch (outcome.code) {
    case "HOLD_NOT_FOUND":
      return notFound(token);
    case "HOLD_EXPIRED":
      return new DomainError(
        ErrorCode.HOLD_EXPIRED,
        outcome.expires_at
          ? `The hold expired at ${new Date(outcome.expires_at).toISOString()}.`
          : "The hold has expired.",
      );
    case "HOLD_NOT_ACTIVE":
      return new DomainError(ErrorCode.HOLD_NOT_ACTIVE, "The hold was released.");
    case "EVENT_NOT_FOUND":
      return new DomainError(ErrorCode.EVENT_NOT_FOUND, "The hold's event does not exist any more.");
    case "EVENT_STARTED":
      return new DomainError(ErrorCode.EVENT_STARTED, "The event has already started.");
    case "USER_SEAT_LIMIT":
      return new DomainError(
        ErrorCode.USER_SEAT_LIMIT,
        `You may hold at most ${outcome.max} seats for this event; you hold ${outcome.booked}.`,
      );
    default:
      // The hold's seats are locked and HELD by it: any other refusal is a broken invariant.
      throw new Error(`confirm of a hold refused by book_seats: ${JSON.stringify(outcome)}`);
  }
}
