import { eventScope } from "../../cache";
import { config } from "../../config";
import { afterCommit, type SeatChange } from "../../messaging/after-commit";
import { Streams } from "../../messaging/catalog";
import { type OutboxRow, writeOutbox } from "../../messaging/outbox";
import type { Tx } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { waitlistOffers } from "../../platform/metrics";
import * as inventory from "../inventory/inventory.service";
import * as repo from "./waitlist.offers.repo";
import * as store from "./waitlist.store";

/** Serving a line with free seats in one transaction (docs/waitlist.md), and what runs after its COMMIT. */

/** How many people at the head of a line one pass looks at (first_fit's look-ahead). */
export const HEADS_PER_PASS = 20;
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
  const served = emptyServed();
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

export function releasedRows(
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
export async function lockUsers(tx: Tx, eventId: number, userIds: number[]): Promise<void> {
  for (const u of [...new Set(userIds)].sort((a, b) => a - b)) await inventory.lockUserForEvent(tx, u, eventId);
}

/** After COMMIT of a pass: the seated leave the line, readers see the change, mail goes out. */
export async function afterServe(eventId: number, served: Served): Promise<void> {
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

export const emptyServed = (): Served => ({
  gone: false,
  offered: [],
  skipped: [],
  gathered: 0,
  freeLeft: [],
  allSkipped: false,
  seats: [],
});

/** After COMMIT the change stands: a Redis failure here is logged, never an error answer. */
export async function removeFromLineAfterCommit(eventId: number, userId: number): Promise<void> {
  try {
    await store.removeFromLine(eventId, userId);
  } catch (err) {
    logger.warn({ err: errorMessage(err), event_id: eventId, user_id: userId }, "could not remove from waitlist");
  }
}
