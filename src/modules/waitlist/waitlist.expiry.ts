import { eventScope } from "../../cache";
import { afterCommit } from "../../messaging/after-commit";
import { Streams } from "../../messaging/catalog";
import { writeOutbox } from "../../messaging/outbox";
import { sql, type Tx } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { waitlistOffers } from "../../platform/metrics";
import * as inventory from "../inventory/inventory.service";
import { afterOffer, liveStates, type OfferResult, offerSeatInTransaction } from "./waitlist.handover";
import * as repo from "./waitlist.offers.repo";
import {
  afterServe,
  emptyServed,
  HEADS_PER_PASS,
  lockUsers,
  releasedRows,
  removeFromLineAfterCommit,
  type Served,
  serveInTransaction,
} from "./waitlist.serve";
import * as store from "./waitlist.store";

/** Ending offers — declined, expired, withdrawn — and handing their seats on (docs/waitlist.md). */

/**
 * Ends one live offer of `userId` and hands its seats on in the same transaction: `work` (run
 * after the users' locks) releases what it ends and returns the freed seats. When Redis cannot
 * say who waits, an expiry is kept for a later pass (undefined); a decline goes ahead, its seats
 * AVAILABLE and announced on `seat.released` for the promoter to hand on once Redis is back.
 */
async function releaseAndServe<T>(
  eventId: number,
  userId: number,
  reason: "offer_expired" | "offer_declined",
  work: (tx: Tx) => Promise<{ freed: repo.FreeSeat[]; result: T } | undefined>,
): Promise<{ result: T; served: Served } | undefined> {
  let heads: store.LineEntry[];
  try {
    heads = (await store.headEntries(eventId, HEADS_PER_PASS)).filter((h) => h.userId !== userId);
  } catch (err) {
    logger.warn({ err: errorMessage(err), event_id: eventId, reason }, "waitlist unreadable: redis error");
    if (reason === "offer_expired") return undefined;
    heads = [];
  }
  const done = await sql.begin(async (tx) => {
    await lockUsers(tx, eventId, [userId, ...heads.map((h) => h.userId)]);
    const ended = await work(tx);
    if (!ended) return undefined;
    const served = heads.length > 0 ? await serveInTransaction(tx, eventId, heads) : emptyServed();
    served.seats.unshift(
      ...ended.freed.map((s) => ({ eventId, seatNumber: s.seatNumber, status: "AVAILABLE" as const })),
    );
    // Seats nobody looked at could take go through the promoter (it walks the rest of the line).
    const moreMayWait = served.allSkipped || heads.length === HEADS_PER_PASS;
    const left = heads.length === 0 ? ended.freed : moreMayWait ? served.freeLeft : [];
    await writeOutbox(tx, releasedRows(eventId, left, reason));
    return { result: ended.result, served };
  });
  if (done) await afterServe(eventId, done.served);
  return done;
}

async function releaseOfferSeats(tx: Tx, offerId: number): Promise<repo.FreeSeat[]> {
  return repo.releaseOfferSeats(tx, offerId);
}

// How many expired offers one janitor pass ends.
const EXPIRIES_PER_PASS = 100;

/**
 * Ends offers past their time: OFFERED ones EXPIRE (their holder is told), PENDING ones (the
 * event has started) are WITHDRAWN; their seats go to the next in line in the same transaction.
 * Also the seats HELD the old way (no offer row, from before migration 0005). Returns how many
 * were handled.
 */
export async function expireOffers(batch = EXPIRIES_PER_PASS): Promise<number> {
  let handled = 0;
  for (const due of await repo.dueOffers(sql, batch)) {
    try {
      const done = await releaseAndServe(due.eventId, due.userId, "offer_expired", async (tx) => {
        const o = await repo.findOffer(tx, due.id, true);
        if (!o || (o.status !== "OFFERED" && o.status !== "PENDING") || !o.expired) return undefined;
        const freed = await releaseOfferSeats(tx, o.id);
        await repo.endOffer(tx, o.id, o.status === "OFFERED" ? "EXPIRED" : "WITHDRAWN");
        if (o.status === "OFFERED") {
          await writeOutbox(tx, [
            {
              stream: Streams.notifications,
              payload: {
                to: o.email,
                subject: "Your waitlist offer has expired",
                text: `The seat${o.seatNumbers.length === 1 ? "" : "s"} ${o.seatNumbers.join(", ")} held for you for "${o.eventName}" ${o.seatNumbers.length === 1 ? "was" : "were"} not booked in time and went to the next person in line.`,
                kind: "waitlist_offer_expired",
                dedupe_key: `offer-expired:${o.id}`,
              },
            },
          ]);
        }
        return { freed, result: o.status };
      });
      if (done) {
        handled++;
        if (done.result === "OFFERED") waitlistOffers.inc({ outcome: "expired" });
      }
    } catch (err) {
      logger.warn({ err: errorMessage(err), offer_id: due.id }, "expired offer kept for the next pass");
    }
  }
  for (const hold of await inventory.dueExpiredHolds(sql, batch)) {
    if (await handOverExpiredHold(hold)) handled++;
  }
  return handled + (await withdrawOrphanGatherings(batch));
}

/**
 * Seats gathering for a party that is no longer in line (it left while a withdrawal failed, or
 * its entry was lost) go back to the line: every janitor pass looks at the gathering offers
 * (at most one per event under strict) and asks Redis whether their party still waits.
 */
async function withdrawOrphanGatherings(batch: number): Promise<number> {
  let handled = 0;
  for (const g of await repo.gatheringOffers(sql, batch)) {
    let waiting: boolean;
    try {
      waiting = await store.isInLine(g.eventId, g.userId);
    } catch (err) {
      logger.warn({ err: errorMessage(err), offer_id: g.id }, "gathering kept until the waitlist can be read");
      continue;
    }
    if (waiting) continue;
    await withdrawGathering(g.eventId, g.userId);
    handled++;
  }
  return handled;
}

export type OfferAnswer = { ok: true; offer: repo.OfferView } | { ok: false; offer: repo.OfferView | undefined };

/**
 * Declines an OFFERED offer of `userId`: its seats go to the next in line in the same
 * transaction. Answers the offer as it ended, or why not (the caller maps that to an error).
 */
export async function declineOffer(userId: number, offerId: number): Promise<OfferAnswer> {
  const known = await repo.findOffer(sql, offerId);
  if (!known || known.userId !== userId) return { ok: false, offer: undefined };
  if (known.status !== "OFFERED" || known.expired) return { ok: false, offer: known };
  let refused: repo.OfferView | undefined;
  const done = await releaseAndServe(known.eventId, userId, "offer_declined", async (tx) => {
    const o = await repo.findOffer(tx, offerId, true);
    if (o?.status !== "OFFERED" || o.expired) {
      refused = o;
      return undefined;
    }
    const freed = await releaseOfferSeats(tx, offerId);
    await repo.endOffer(tx, offerId, "DECLINED");
    return { freed, result: o };
  });
  if (!done) return { ok: false, offer: refused };
  logger.info({ offer_id: offerId, user_id: userId }, "waitlist offer declined");
  return { ok: true, offer: (await repo.findOffer(sql, offerId)) as repo.OfferView };
}

/**
 * The person left the line (or never will be served): a gathering offer of theirs ends and its
 * seats go on to the next in line.
 */
export async function withdrawGathering(eventId: number, userId: number): Promise<void> {
  await releaseAndServe(eventId, userId, "offer_declined", async (tx) => {
    const mine = (await repo.liveOffersOf(tx, eventId, [userId])).get(userId);
    if (mine?.status !== "PENDING") return undefined;
    const freed = await releaseOfferSeats(tx, mine.id);
    await repo.endOffer(tx, mine.id, "WITHDRAWN");
    return { freed, result: mine.id };
  });
}

// How many people at the head of a line an expired old-style hold may go to in its own
// transaction; past them (all already seated) the seat goes through the promoter.
const HEADS_PER_EXPIRY = 5;

/** A seat HELD the old way (no offer row): freed and handed to the line in one transaction. */
async function handOverExpiredHold(hold: inventory.DueHold): Promise<boolean> {
  let heads: number[];
  try {
    heads = (await store.headOfLine(hold.eventId, HEADS_PER_EXPIRY + 1)).filter((u) => u !== hold.heldBy);
  } catch (err) {
    logger.warn({ err: errorMessage(err), seat_id: hold.seatId }, "expired offer kept until the waitlist can be read");
    return false;
  }
  const done = await sql.begin(async (tx) => {
    await lockUsers(tx, hold.eventId, heads);
    const freed = await inventory.releaseExpiredHold(tx, hold.seatId, hold.heldBy);
    if (!freed) return undefined;
    const skipped: number[] = [];
    let offeredTo: number | undefined;
    let result: OfferResult = "seat_not_available";
    for (const u of heads) {
      result = await offerSeatInTransaction(tx, hold.eventId, hold.seatId, u);
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
      ...(result === "offered" || result === "gathered"
        ? []
        : [
            {
              stream: Streams.seatReleased,
              payload: {
                event_id: hold.eventId,
                seat_id: hold.seatId,
                seat_number: hold.seatNumber,
                reason: "offer_expired" as const,
              },
            },
          ]),
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
