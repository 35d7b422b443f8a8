import { config } from "../../config";
import { db } from "../../infra/db";
import { logger } from "../../infra/logger";
import { waitlistOffers } from "../../infra/metrics";
import type { AuthUser } from "../../lib/auth-user";
import { invalidateEventSeats } from "../../lib/cache-scopes";
import { conflict, ErrorCode, notFound } from "../../lib/errors";
import { Streams, writeOutbox } from "../../lib/outbox";
import { kickOutboxRelay } from "../../lib/outbox-relay";
import { isoTime } from "../../lib/time";
import { lockUserForEvent } from "../bookings/bookings.repo";
import * as repo from "./waitlist.repo";
import * as store from "./waitlist.store";

export interface WaitlistEntryDto {
  event_id: number;
  position: number;
  size: number;
  joined_at: string;
}

const toDto = (eventId: number, p: store.WaitlistPosition): WaitlistEntryDto => ({
  event_id: eventId,
  position: p.position,
  size: p.size,
  joined_at: new Date(p.joinedAtMs).toISOString(),
});

/** Joins the line of a sold-out event; joining again keeps the first place (created: false). */
export async function join(actor: AuthUser, eventId: number): Promise<{ created: boolean; entry: WaitlistEntryDto }> {
  const event = await repo.readWaitlistEventState(eventId, actor.id);
  if (!event) throw notFound(ErrorCode.EVENT_NOT_FOUND, `Event ${eventId} does not exist.`);
  if (event.started) throw conflict(ErrorCode.EVENT_STARTED, "The event has already started.");
  if (event.user_has_booking) {
    throw conflict(ErrorCode.ALREADY_BOOKED_EVENT, "You already have a booking for this event.");
  }
  const current = await store.waitlistPosition(eventId, actor.id);
  if (current) return { created: false, entry: toDto(eventId, current) };
  if (event.has_available) {
    throw conflict(ErrorCode.SEATS_AVAILABLE, "Seats are still available: book one instead of waiting.");
  }
  const startMs = new Date(isoTime(event.start_time)).getTime();
  const joined = await store.joinWaitlist(eventId, actor.id, Date.now(), startMs);
  await invalidateEventSeats(eventId); // the event document shows waitlist_size
  return { created: joined.added, entry: toDto(eventId, joined) };
}

export async function position(actor: AuthUser, eventId: number): Promise<WaitlistEntryDto> {
  const p = await store.waitlistPosition(eventId, actor.id);
  if (!p) throw notFound(ErrorCode.NOT_ON_WAITLIST, `You are not on the waitlist of event ${eventId}.`);
  return toDto(eventId, p);
}

export async function leave(actor: AuthUser, eventId: number): Promise<void> {
  if (!(await store.leaveWaitlist(eventId, actor.id))) {
    throw notFound(ErrorCode.NOT_ON_WAITLIST, `You are not on the waitlist of event ${eventId}.`);
  }
  await invalidateEventSeats(eventId);
}

export async function entries(eventId: number, limit: number) {
  const list = await store.waitlistEntries(eventId, limit);
  const emails = await repo.emailsOf(list.map((e) => e.userId));
  return list.map((e, i) => ({
    position: i + 1,
    user_id: e.userId,
    user_email: emails.get(e.userId) ?? null,
    joined_at: new Date(e.joinedAtMs).toISOString(),
  }));
}

export type PromotionOutcome =
  | { outcome: "offered"; userId: number }
  | { outcome: "no_one_waiting" | "seat_not_available" | "event_gone" };

// People skipped in one promotion (already seated in the event) before giving up for now.
const MAX_SKIPS = 50;

/**
 * Offers a freed seat to the head of the event's line: in one transaction, under the user's
 * (user, event) lock and the seat's row lock, the seat becomes HELD for them until
 * now + WAITLIST_OFFER_TTL_SECONDS and a notification is queued. The user leaves the line only
 * after that commits, so a crash at any point loses nobody; redelivery finds the seat no longer
 * AVAILABLE (or the user already seated) and does nothing twice.
 */
export async function promoteNextInLine(eventId: number, seatId: number): Promise<PromotionOutcome> {
  for (let skipped = 0; skipped <= MAX_SKIPS; skipped++) {
    const [userId] = await store.headOfLine(eventId, 1);
    if (userId === undefined) return { outcome: "no_one_waiting" };
    const result = await db.transaction(async (tx) => {
      await lockUserForEvent(tx, userId, eventId);
      const seat = await repo.lockSeatForOffer(tx, seatId);
      if (!seat || seat.gone) return "event_gone" as const;
      if (seat.status !== "AVAILABLE") return "seat_not_available" as const;
      if (await repo.userHasSeatInEvent(tx, userId, eventId)) return "skip" as const;
      const hold = await repo.holdSeatFor(tx, seatId, userId, config.WAITLIST_OFFER_TTL_SECONDS);
      const until = isoTime(hold.hold_expires_at);
      await writeOutbox(tx, [
        {
          stream: Streams.notifications,
          payload: {
            to: hold.email,
            subject: `A seat is waiting for you: ${seat.event_name}`,
            text: `Seat ${seat.seat_number} of "${seat.event_name}" is held for you until ${until}. Book it with POST /api/v1/events/${eventId}/book/${seat.seat_number}.`,
            kind: "waitlist_offer",
            dedupe_key: `offer:${seatId}:${userId}:${until}`,
          },
        },
      ]);
      return "offered" as const;
    });
    if (result === "skip" || result === "offered") await store.removeFromLine(eventId, userId);
    if (result === "offered") {
      waitlistOffers.inc({ outcome: "made" });
      await invalidateEventSeats(eventId);
      kickOutboxRelay();
      logger.info({ event_id: eventId, seat_id: seatId, user_id: userId }, "waitlist offer made");
      return { outcome: "offered", userId };
    }
    if (result !== "skip") return { outcome: result };
  }
  logger.warn({ event_id: eventId, seat_id: seatId }, "gave up promoting after skipping many seated users");
  return { outcome: "no_one_waiting" };
}

/** Releases expired offers and announces each seat again, so the next person is offered it. */
export async function expireOffers(batch = 100): Promise<number> {
  const expired = await db.transaction(async (tx) => {
    const expired = await repo.releaseExpiredHolds(tx, batch);
    await writeOutbox(
      tx,
      expired.flatMap((h) => [
        {
          stream: Streams.seatReleased,
          payload: { event_id: h.event_id, seat_id: h.seat_id, seat_number: h.seat_number, reason: "offer_expired" },
        },
        {
          stream: Streams.notifications,
          payload: {
            to: h.email,
            subject: "Your waitlist offer has expired",
            text: `The seat ${h.seat_number} held for you was not booked in time and has been offered to the next person.`,
            kind: "waitlist_offer_expired",
            dedupe_key: `offer-expired:${h.seat_id}:${h.user_id}`,
          },
        },
      ]),
    );
    return expired;
  });
  if (expired.length > 0) {
    waitlistOffers.inc({ outcome: "expired" }, expired.length);
    await Promise.all([...new Set(expired.map((h) => h.event_id))].map((id) => invalidateEventSeats(id)));
    kickOutboxRelay();
  }
  return expired.length;
}

/** Drops the lines of events that have started (their keys also expire at the start time). */
export async function dropStartedWaitlists(): Promise<number> {
  const ids = await repo.recentlyStartedEventIds();
  await Promise.all(ids.map((id) => store.dropWaitlist(id)));
  return ids.length;
}
