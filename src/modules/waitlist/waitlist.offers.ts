import type { SeatChange } from "../../messaging/after-commit";
import { sql } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { afterServe, HEADS_PER_PASS, lockUsers, serveInTransaction } from "./waitlist.serve";
import * as store from "./waitlist.store";

/**
 * Waitlist offers (docs/waitlist.md). Freed seats go to the line: a party of n is offered n seats
 * at once (adjacent when the free seats allow), as one offer HELD for WAITLIST_OFFER_TTL_SECONDS;
 * until its party fits, the head of the line gathers freed seats (a PENDING offer). Every change
 * runs in one transaction holding the (user, event) advisory locks of the people it looks at
 * (ascending ids), then their offer rows, then seat rows, as bookings do; at most one live offer
 * per (event, user) is enforced by a partial unique index; people leave the line only after the
 * COMMIT that seated them, so a crash at any point loses nobody and offers nobody twice.
 */

export { declineOffer, expireOffers, type OfferAnswer, withdrawGathering } from "./waitlist.expiry";
export { afterOffer, type OfferResult, offerSeatInTransaction } from "./waitlist.handover";
export { chooseSeats, type MadeOfferInfo, type Served, serveInTransaction } from "./waitlist.serve";

export type { SeatChange };

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
  | { outcome: "offered"; userId: number; seats: SeatChange[] }
  | { outcome: "gathered"; userId: number; seats: SeatChange[] }
  | { outcome: "no_one_waiting" | "seat_not_available" | "event_gone" };

/**
 * Serves the event's line with its free seats (the promoter's handler for each `seat.released`,
 * and what a join runs). Walks past any number of already-seated people; idempotent, so a
 * redelivered entry finds nothing free and does nothing. `_seatId` names the released seat (logs).
 */
export async function promoteNextInLine(eventId: number, _seatId?: number): Promise<PromotionOutcome> {
  let previous = "";
  const seats: SeatChange[] = [];
  let first: { outcome: "offered" | "gathered"; userId: number } | undefined;
  for (;;) {
    const heads = await store.headEntries(eventId, HEADS_PER_PASS);
    if (heads.length === 0) return first ? { ...first, seats } : { outcome: "no_one_waiting" };
    const served = await sql.begin(async (tx) => {
      await lockUsers(
        tx,
        eventId,
        heads.map((h) => h.userId),
      );
      return serveInTransaction(tx, eventId, heads);
    });
    await afterServe(eventId, served);
    seats.push(...served.seats);
    if (served.gone) return { outcome: "event_gone" };
    const o = served.offered[0];
    if (!first && o) first = { outcome: "offered", userId: o.userId };
    if (!first && served.gathered > 0) first = { outcome: "gathered", userId: heads[0]?.userId ?? 0 };
    // Only a pass whose heads were all seated, or served with seats to spare from a full window,
    // leaves the rest of the line unasked.
    const moreMayWait = served.allSkipped || heads.length === HEADS_PER_PASS;
    if (!moreMayWait || served.freeLeft.length === 0) {
      return first ? { ...first, seats } : { outcome: "seat_not_available" };
    }
    // Each such pass removes its heads; heads that stay mean the line cannot move now (retried).
    const seen = heads.map((h) => h.userId).join(",");
    if (seen === previous && served.offered.length === 0)
      throw new Error(`waitlist of event ${eventId} did not move past users ${seen}`);
    previous = seen;
  }
}
