import { eventScope } from "../../cache";
import { afterCommit } from "../../messaging/after-commit";
import { writeOutbox } from "../../messaging/outbox";
import { sql, type Tx } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { waitlistOffers } from "../../platform/metrics";
import * as inventory from "../inventory/inventory.service";
import * as repo from "./waitlist.offers.repo";
import { releasedRows, removeFromLineAfterCommit, serveInTransaction } from "./waitlist.serve";
import * as store from "./waitlist.store";

/** Handing one freed seat to the head of the line in the caller's transaction (docs/waitlist.md). */

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

/**
 * The seat's state after COMMIT, for live subscribers (its version included). A failed read only
 * delays them until their reconcile; the change stands.
 */
export async function liveStates(seatId: number): Promise<inventory.LiveSeatState[]> {
  try {
    return await inventory.liveSeatStates(sql, [seatId]);
  } catch (err) {
    logger.warn({ err: errorMessage(err), seat_id: seatId }, "seat state for live subscribers not read");
    return [];
  }
}
