import { eventScope } from "../../cache";
import { config } from "../../config";
import { afterCommit, type SeatChange } from "../../messaging/after-commit";
import { Streams } from "../../messaging/catalog";
import { type OutboxRow, writeOutbox } from "../../messaging/outbox";
import { sql, type Tx } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { waitlistOffers } from "../../platform/metrics";
import * as inventory from "../inventory/inventory.service";
import * as repo from "./waitlist.offers.repo";
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

/** How many people at the head of a line one pass looks at (first_fit's look-ahead). */
const HEADS_PER_PASS = 20;
/** The free seats one pass considers (a line exists only once an event is sold out). */
const FREE_SEATS_PER_PASS = 1_000;

export interface MadeOfferInfo {
  offerId: number;
  userId: number;
  seatNumbers: number[];
  expiresAt: Date;
}

export interface Served {
  gone: boolean;
  offered: MadeOfferInfo[];
  /** Looked at but already seated (or their party left): they leave the line after COMMIT. */
  skipped: number[];
  /** Seats gathered for the head's party in this pass. */
  gathered: number;
  /** Free seats nobody among those looked at could take. */
  freeLeft: repo.FreeSeat[];
  /** Everyone looked at was skipped: the rest of the line has not been asked yet. */
  allSkipped: boolean;
  seats: SeatChange[];
}

const bySeatNumber = (a: repo.FreeSeat, b: repo.FreeSeat) => a.seatNumber - b.seatNumber;

/**
 * The seats a party of `n` gets from what it has gathered and what is free: `n` adjacent seat
 * numbers when the pool has such a run (the run keeping most of what was gathered, then the
 * lowest), else what was gathered plus the lowest free seats. Returns the chosen seats and the
 * gathered ones it gives back.
 */
export function chooseSeats(
  gathered: repo.FreeSeat[],
  free: repo.FreeSeat[],
  n: number,
): { chosen: repo.FreeSeat[]; returned: repo.FreeSeat[] } {
  const mine = new Set(gathered.map((s) => s.id));
  const pool = [...gathered, ...free].sort(bySeatNumber);
  let best: { start: number; score: number } | undefined;
  for (let i = 0; i + n <= pool.length; i++) {
    const first = pool[i] as repo.FreeSeat;
    const last = pool[i + n - 1] as repo.FreeSeat;
    if (last.seatNumber - first.seatNumber !== n - 1) continue;
    let score = 0;
    for (let j = i; j < i + n; j++) if (mine.has((pool[j] as repo.FreeSeat).id)) score++;
    if (!best || score > best.score) best = { start: i, score };
  }
  const chosen = best
    ? pool.slice(best.start, best.start + n)
    : [...gathered, ...free.slice(0, n - gathered.length)].sort(bySeatNumber);
  const picked = new Set(chosen.map((s) => s.id));
  return { chosen, returned: gathered.filter((s) => !picked.has(s.id)) };
}

function offerMail(
  to: string,
  eventName: string,
  eventId: number,
  made: MadeOfferInfo,
): OutboxRow & { stream: "notifications" } {
  const until = made.expiresAt.toISOString();
  const seats = made.seatNumbers.join(", ");
  return {
    stream: Streams.notifications,
    payload: {
      to,
      subject: `${made.seatNumbers.length === 1 ? "A seat is" : "Seats are"} waiting for you: ${eventName}`,
      text:
        `Seat${made.seatNumbers.length === 1 ? "" : "s"} ${seats} of "${eventName}" ${made.seatNumbers.length === 1 ? "is" : "are"} held for you until ${until}. ` +
        `Accept with POST /api/v1/waitlist/offers/${made.offerId}/accept (or book with POST /api/v1/events/${eventId}/book/${made.seatNumbers[0]}), ` +
        `or decline with POST /api/v1/waitlist/offers/${made.offerId}/decline.`,
      kind: "waitlist_offer",
      dedupe_key: `offer:${made.offerId}:${until}`,
    },
  };
}

/**
 * Gives the event's free seats to `heads` (in line order) by the event's policy. The caller's
 * transaction holds the (user, event) lock of every head, taken before any seat lock.
 * - strict: the first waiting party is served when it fits; if it does not, it gathers every
 *   free seat and nobody behind it is served.
 * - first_fit: every waiting party that fits is served in line order; the first one that does not
 *   gathers what is left over.
 */
export async function serveInTransaction(tx: Tx, eventId: number, heads: store.LineEntry[]): Promise<Served> {
  const served: Served = {
    gone: false,
    offered: [],
    skipped: [],
    gathered: 0,
    freeLeft: [],
    allSkipped: false,
    seats: [],
  };
  const event = await repo.servingEvent(tx, eventId);
  if (!event || event.gone) return { ...served, gone: true };
  const ids = heads.map((h) => h.userId);
  const seated = await repo.seatedUsersAmong(tx, eventId, heads);
  const live = await repo.liveOffersOf(tx, eventId, ids);
  let free = await repo.lockFreeSeats(tx, eventId, FREE_SEATS_PER_PASS);
  const change = (list: repo.FreeSeat[], status: SeatChange["status"]) => {
    for (const s of list) served.seats.push({ eventId, seatNumber: s.seatNumber, status });
  };

  const waiting: store.LineEntry[] = [];
  for (const h of heads) {
    const offer = live.get(h.userId);
    if (!seated.has(h.userId) && offer?.status !== "OFFERED") {
      waiting.push(h);
      continue;
    }
    served.skipped.push(h.userId);
    if (offer?.status === "PENDING") {
      // Seated another way while gathering: the gathered seats go back to the line.
      await repo.releaseSeats(
        tx,
        offer.seats.map((s) => s.id),
      );
      await repo.endOffer(tx, offer.id, "WITHDRAWN");
      change(offer.seats, "AVAILABLE");
      free = [...free, ...offer.seats].sort(bySeatNumber);
      live.delete(h.userId);
    }
  }
  served.allSkipped = waiting.length === 0;

  let gatherFor: store.LineEntry | undefined;
  for (const h of waiting) {
    const pending = live.get(h.userId);
    const have = pending?.seats ?? [];
    if (have.length + free.length >= h.partySize) {
      const { chosen, returned } = chooseSeats(have, free, h.partySize);
      const offerId =
        pending?.id ?? (await repo.createPendingOffer(tx, eventId, h.userId, h.partySize, event.startTime));
      const haveIds = new Set(have.map((s) => s.id));
      const taken = chosen.filter((s) => !haveIds.has(s.id));
      await repo.releaseSeats(
        tx,
        returned.map((s) => s.id),
      );
      await repo.holdSeatsForOffer(
        tx,
        offerId,
        h.userId,
        taken.map((s) => s.id),
        event.startTime,
      );
      const chosenIds = new Set(chosen.map((s) => s.id));
      free = [...free.filter((s) => !chosenIds.has(s.id)), ...returned].sort(bySeatNumber);
      const seatNumbers = chosen.map((s) => s.seatNumber);
      const made = await repo.markOffered(tx, offerId, seatNumbers, config.WAITLIST_OFFER_TTL_SECONDS);
      const info = { offerId, userId: h.userId, seatNumbers, expiresAt: made.expiresAt };
      await writeOutbox(tx, [offerMail(made.email, event.name, eventId, info)]);
      served.offered.push(info);
      change(returned, "AVAILABLE");
      change(taken, "HELD");
      if (event.waitlistPolicy === "strict" && free.length === 0) break;
      continue;
    }
    gatherFor ??= h;
    if (event.waitlistPolicy === "strict") break;
  }

  if (gatherFor && free.length > 0) {
    const pending = live.get(gatherFor.userId);
    const offerId =
      pending?.id ??
      (await repo.createPendingOffer(tx, eventId, gatherFor.userId, gatherFor.partySize, event.startTime));
    await repo.holdSeatsForOffer(
      tx,
      offerId,
      gatherFor.userId,
      free.map((s) => s.id),
      event.startTime,
    );
    const all = [...(pending?.seats ?? []), ...free].sort(bySeatNumber);
    await repo.setGathered(
      tx,
      offerId,
      all.map((s) => s.seatNumber),
    );
    served.gathered = free.length;
    change(free, "HELD");
    free = [];
  }
  served.freeLeft = free;
  return served;
}

function releasedRows(
  eventId: number,
  seats: repo.FreeSeat[],
  reason: "cancelled" | "offer_expired" | "offer_declined",
): OutboxRow[] {
  return seats.map((s) => ({
    stream: Streams.seatReleased,
    payload: { event_id: eventId, seat_id: s.id, seat_number: s.seatNumber, reason },
  }));
}

/** Locks the users' (user, event) locks in ascending id order (the global lock order). */
async function lockUsers(tx: Tx, eventId: number, userIds: number[]): Promise<void> {
  for (const u of [...new Set(userIds)].sort((a, b) => a - b)) await inventory.lockUserForEvent(tx, u, eventId);
}

/** After COMMIT of a pass: the seated leave the line, readers see the change, mail goes out. */
async function afterServe(eventId: number, served: Served): Promise<void> {
  for (const u of served.skipped) await removeFromLineAfterCommit(eventId, u);
  for (const o of served.offered) {
    await removeFromLineAfterCommit(eventId, o.userId);
    waitlistOffers.inc({ outcome: "made" });
    logger.info(
      { event_id: eventId, offer_id: o.offerId, user_id: o.userId, seats: o.seatNumbers },
      "waitlist offer made",
    );
  }
  await afterCommit({ invalidate: [eventScope(eventId)], outbox: true, seats: served.seats });
}

export type { SeatChange };

export type OfferResult = "offered" | "skip" | "seat_not_available" | "event_gone" | "gathered" | "deferred";

/**
 * Gives a freed seat (AVAILABLE, locked by the caller) to `userId`, the head of the line whose
 * (user, event) lock the caller holds: an offer when their party fits now, the seat gathered for
 * them under strict when it does not yet ("gathered"), or "deferred" under first_fit (the seat
 * stays AVAILABLE; the caller publishes seat.released and the promoter serves the whole line).
 * "skip": they need no offer (seated already). Callers treat all but "offered" as not offered.
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
  let entry: store.LineEntry | null;
  try {
    entry = await store.entryOf(eventId, userId);
  } catch (err) {
    logger.warn({ err: errorMessage(err), event_id: eventId }, "party size unknown: redis error");
    return "deferred";
  }
  if (!entry) return "skip"; // no longer in line
  const event = await repo.servingEvent(tx, eventId);
  if (event?.waitlistPolicy === "first_fit" && entry.partySize > 1) return "deferred";
  const served = await serveInTransaction(tx, eventId, [entry]);
  if (served.gone) return "event_gone";
  // Free seats this one person could not use go through the promoter (the rest of the line).
  await writeOutbox(tx, releasedRows(eventId, served.freeLeft, "cancelled"));
  if (served.offered.length > 0) return "offered";
  if (served.skipped.length > 0) return "skip";
  return served.gathered > 0 ? "gathered" : "seat_not_available";
}

/** After COMMIT of an offer made by offerSeatInTransaction: the person leaves the line, readers see it. */
export async function afterOffer(eventId: number, seatId: number, userId: number): Promise<void> {
  await removeFromLineAfterCommit(eventId, userId);
  waitlistOffers.inc({ outcome: "made" });
  const seats = await liveStates(seatId);
  await afterCommit({ invalidate: [eventScope(eventId)], outbox: true, seats });
  logger.info({ event_id: eventId, seat_id: seatId, user_id: userId }, "waitlist offer made");
}

const emptyServed = (): Served => ({
  gone: false,
  offered: [],
  skipped: [],
  gathered: 0,
  freeLeft: [],
  allSkipped: false,
  seats: [],
});

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
