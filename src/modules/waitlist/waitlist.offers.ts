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
  // The holder stays in the line if Redis fails now; a later offer skips them (they hold a seat).
  await removeFromLineAfterCommit(eventId, userId);
  waitlistOffers.inc({ outcome: "made" });
  const seats = await liveStates(seatId);
  await afterCommit({ invalidate: [eventScope(eventId)], outbox: true, seats });
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

/**
 * Offers a freed seat to the head of the event's line (the promoter's handler for each
 * `seat.released`). Users already seated in the event are skipped and leave the line, however
 * many there are: the seat is never left AVAILABLE while someone who could take it waits.
 * Redelivery finds the seat no longer AVAILABLE and does nothing.
 */
export async function promoteNextInLine(eventId: number, seatId: number): Promise<PromotionOutcome> {
  let previous: number | undefined;
  for (;;) {
    const [userId] = await store.headOfLine(eventId, 1);
    if (userId === undefined) return { outcome: "no_one_waiting" };
    // Each turn removes the head; a head that stays means the line cannot move now (retried).
    if (userId === previous) throw new Error(`waitlist of event ${eventId} did not move past user ${userId}`);
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
    previous = userId;
  }
}

// How many people at the head of a line an expired offer may go to in its own transaction; past
// them (all already seated) the seat goes through the promoter, which walks the rest of the line.
const HEADS_PER_EXPIRY = 5;

/**
 * Expired offers: each seat is handed to the next person in line inside the transaction that
 * releases it, so nobody who is not waiting can book it in between. An expired hold stays HELD
 * (and refused to other buyers) until then; while Redis cannot say who waits it is kept as it is.
 * Returns how many expired holds were handled.
 */
export async function expireOffers(batch = 100): Promise<number> {
  let handled = 0;
  for (const hold of await inventory.dueExpiredHolds(sql, batch)) {
    if (await handOverExpiredOffer(hold)) handled++;
  }
  return handled;
}

async function handOverExpiredOffer(hold: inventory.DueHold): Promise<boolean> {
  let heads: number[];
  try {
    heads = (await store.headOfLine(hold.eventId, HEADS_PER_EXPIRY + 1)).filter((u) => u !== hold.heldBy);
  } catch (err) {
    logger.warn({ err: errorMessage(err), seat_id: hold.seatId }, "expired offer kept until the waitlist can be read");
    return false;
  }
  const done = await sql.begin(async (tx) => {
    // Lock order as everywhere: users (ascending), then the seat.
    for (const u of [...heads].sort((a, b) => a - b)) await inventory.lockUserForEvent(tx, u, hold.eventId);
    const freed = await inventory.releaseExpiredHold(tx, hold.seatId, hold.heldBy);
    if (!freed) return undefined; // booked, handed over or gone meanwhile
    const skipped: number[] = [];
    let offeredTo: number | undefined;
    for (const u of heads) {
      const result = await offerSeatInTransaction(tx, hold.eventId, hold.seatId, u);
      if (result === "offered") offeredTo = u;
      if (result !== "skip") break;
      skipped.push(u);
    }
    await writeOutbox(tx, [
      {
        stream: Streams.notifications,
        payload: {
          to: freed.email,
          subject: "Your waitlist offer has expired",
          text: `The seat ${freed.seatNumber} held for you was not booked in time and has been offered to the next person.`,
          kind: "waitlist_offer_expired",
          dedupe_key: `offer-expired:${freed.seatId}:${freed.heldBy}:${freed.expiredAt.toISOString()}`,
        },
      },
      ...(offeredTo === undefined
        ? [
            {
              stream: Streams.seatReleased,
              payload: {
                event_id: hold.eventId,
                seat_id: hold.seatId,
                seat_number: hold.seatNumber,
                reason: "offer_expired" as const,
              },
            },
          ]
        : []),
    ]);
    return { offeredTo, skipped };
  });
  if (!done) return false;
  waitlistOffers.inc({ outcome: "expired" });
  for (const u of done.skipped) await removeFromLineAfterCommit(hold.eventId, u);
  if (done.offeredTo !== undefined) await afterOffer(hold.eventId, hold.seatId, done.offeredTo);
  else
    await afterCommit({ invalidate: [eventScope(hold.eventId)], outbox: true, seats: await liveStates(hold.seatId) });
  return true;
}

/**
 * The seat's state after COMMIT, for live subscribers (its version included). A failed read only
 * delays them until their reconcile; the change stands.
 */
async function liveStates(seatId: number): Promise<inventory.LiveSeatState[]> {
  try {
    return await inventory.liveSeatStates(sql, [seatId]);
  } catch (err) {
    logger.warn({ err: errorMessage(err), seat_id: seatId }, "seat state for live subscribers not read");
    return [];
  }
}

/** After COMMIT the change stands: a Redis failure here is logged, never an error answer. */
async function removeFromLineAfterCommit(eventId: number, userId: number): Promise<void> {
  try {
    await store.removeFromLine(eventId, userId);
  } catch (err) {
    logger.warn({ err: errorMessage(err), event_id: eventId, user_id: userId }, "could not remove from waitlist");
  }
}
