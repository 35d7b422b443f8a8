import { eventScope } from "../../cache";
import { config } from "../../config";
import { afterCommit } from "../../messaging/after-commit";
import { Streams } from "../../messaging/catalog";
import { writeOutbox } from "../../messaging/outbox";
import { sql, type Tx } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { waitlistOffers } from "../../platform/metrics";
import * as inventory from "../inventory/inventory.service";
import * as store from "./waitlist.store";

/**
 * Waitlist offers: a freed seat becomes HELD for the person at the head of its event's line for
 * WAITLIST_OFFER_TTL_SECONDS; they confirm with the normal book call. Every offer is made inside
 * a transaction holding that person's (user, event) advisory lock and then the seat's row lock,
 * the same order as bookings, and the person leaves the line only after COMMIT, so a crash at any
 * point loses nobody and a repeated attempt never offers twice.
 */

export type OfferResult = "offered" | "skip" | "seat_not_available" | "event_gone";

/**
 * Holds `seatId` for `userId` if it is AVAILABLE and they have no seat in the event yet. The
 * caller's transaction already holds the user's (user, event) lock; this locks the seat.
 */
export async function offerSeatInTransaction(
  tx: Tx,
  eventId: number,
  seatId: number,
  userId: number,
): Promise<OfferResult> {
  const seat = await inventory.lockSeatForOffer(tx, seatId);
  if (!seat || seat.gone) return "event_gone";
  if (seat.status !== "AVAILABLE") return "seat_not_available";
  if (await inventory.userHasSeatInEvent(tx, userId, eventId)) return "skip";
  const hold = await inventory.holdSeatFor(tx, seatId, userId, config.WAITLIST_OFFER_TTL_SECONDS);
  const until = hold.holdExpiresAt.toISOString();
  await writeOutbox(tx, [
    {
      stream: Streams.notifications,
      payload: {
        to: hold.email,
        subject: `A seat is waiting for you: ${seat.eventName}`,
        text: `Seat ${seat.seatNumber} of "${seat.eventName}" is held for you until ${until}. Book it with POST /api/v1/events/${eventId}/book/${seat.seatNumber}.`,
        kind: "waitlist_offer",
        dedupe_key: `offer:${seatId}:${userId}:${until}`,
      },
    },
  ]);
  return "offered";
}

/** After COMMIT of an offer: the person leaves the line, readers see the hold, the e-mail goes out. */
export async function afterOffer(eventId: number, seatId: number, userId: number): Promise<void> {
  await store.removeFromLine(eventId, userId);
  waitlistOffers.inc({ outcome: "made" });
  await afterCommit({ invalidate: [eventScope(eventId)], outbox: true });
  logger.info({ event_id: eventId, seat_id: seatId, user_id: userId }, "waitlist offer made");
}

/** The head of the line, or undefined when nobody waits or Redis cannot say (logged). */
export async function peekHeadOfLine(eventId: number): Promise<number | undefined> {
  try {
    return (await store.headOfLine(eventId, 1))[0];
  } catch (err) {
    logger.warn({ err: errorMessage(err), event_id: eventId }, "waitlist head unknown: redis error");
    return undefined;
  }
}

export type PromotionOutcome =
  | { outcome: "offered"; userId: number }
  | { outcome: "no_one_waiting" | "seat_not_available" | "event_gone" };

// People skipped in one promotion (already seated in the event) before giving up for now.
const MAX_SKIPS = 50;

/**
 * Offers a freed seat to the head of the event's line (the promoter's handler for each
 * `seat.released`). Users already seated in the event are skipped and leave the line.
 * Redelivery finds the seat no longer AVAILABLE and does nothing.
 */
export async function promoteNextInLine(eventId: number, seatId: number): Promise<PromotionOutcome> {
  for (let skipped = 0; skipped <= MAX_SKIPS; skipped++) {
    const [userId] = await store.headOfLine(eventId, 1);
    if (userId === undefined) return { outcome: "no_one_waiting" };
    const result = await sql.begin(async (tx) => {
      await inventory.lockUserForEvent(tx, userId, eventId);
      return offerSeatInTransaction(tx, eventId, seatId, userId);
    });
    if (result === "offered") {
      await afterOffer(eventId, seatId, userId);
      return { outcome: "offered", userId };
    }
    if (result !== "skip") return { outcome: result };
    await store.removeFromLine(eventId, userId);
  }
  logger.warn({ event_id: eventId, seat_id: seatId }, "gave up promoting after skipping many seated users");
  return { outcome: "no_one_waiting" };
}

/**
 * Releases expired offers and offers each seat to the next person at once; the `seat.released`
 * written in the same transaction makes sure the promoter does it if this process dies first.
 */
export async function expireOffers(batch = 100): Promise<number> {
  const expired = await sql.begin(async (tx) => {
    const rows = await inventory.releaseExpiredHolds(tx, batch);
    await writeOutbox(
      tx,
      rows.flatMap((h) => [
        {
          stream: Streams.seatReleased,
          payload: { event_id: h.eventId, seat_id: h.seatId, seat_number: h.seatNumber, reason: "offer_expired" },
        },
        {
          stream: Streams.notifications,
          payload: {
            to: h.email,
            subject: "Your waitlist offer has expired",
            text: `The seat ${h.seatNumber} held for you was not booked in time and has been offered to the next person.`,
            kind: "waitlist_offer_expired",
            dedupe_key: `offer-expired:${h.seatId}:${h.userId}`,
          },
        },
      ]),
    );
    return rows;
  });
  if (expired.length === 0) return 0;
  waitlistOffers.inc({ outcome: "expired" }, expired.length);
  await afterCommit({ invalidate: [...new Set(expired.map((h) => h.eventId))].map(eventScope), outbox: true });
  for (const h of expired) {
    await promoteNextInLine(h.eventId, h.seatId).catch((err) =>
      logger.warn({ err: errorMessage(err), seat_id: h.seatId }, "re-offer deferred to the promoter"),
    );
  }
  return expired.length;
}
