import { eventScope } from "../../cache";
import { afterCommit, type SeatChange } from "../../messaging/after-commit";
import { Streams } from "../../messaging/catalog";
import { domainEvent } from "../../messaging/domain-events";
import { type OutboxRow, writeOutbox } from "../../messaging/outbox";
import { sql, type Tx } from "../../platform/db";
import { errorMessage } from "../../platform/error-message";
import { logger } from "../../platform/logger";
import { afterOffer, headOfLine, offerSeatInTransaction } from "../waitlist/waitlist.service";
import * as repo from "./holds.repo";

/**
 * How holds end (docs/holds.md): released by their owner (releaseHold in holds.service.ts) or
 * expired by the janitor (expireHolds), their seats handed to the waitlist head or put back on sale.
 */

// How many people beyond one per seat a release may look at in the line (those already seated
// in the event are skipped); past them the seats go through the promoter (seat.released).
const EXTRA_HEADS = 5;

/** After COMMIT: cached views of the event drop before the answer; outbox rows go out now. */
export async function published(eventId: number, seats: SeatChange[], outbox: boolean): Promise<void> {
  await afterCommit({ invalidate: [eventScope(eventId)], outbox, seats });
}

type Ended = { eventId: number; seats: SeatChange[]; offers: { seatId: number; userId: number }[] };

/**
 * Ends an ACTIVE hold (locked, with the users in `heads` locked too): its seats go, in this
 * transaction, to the first of `heads` who has no seat in the event yet, one seat each, the rest
 * become AVAILABLE with `seat.released` for the promoter. `hold.expired` when it ran out.
 */
export async function endActiveHold(
  tx: Tx,
  hold: repo.HoldRow,
  heads: number[],
  status: "RELEASED" | "EXPIRED",
): Promise<Ended> {
  const seats = await repo.endHoldFreeingSeats(tx, hold.id, status);
  const line = heads.filter((u) => u !== hold.userId);
  const offers: Ended["offers"] = [];
  const released: OutboxRow[] = [];
  const seatChanges: SeatChange[] = [];
  for (const seat of seats) {
    let offeredTo: number | undefined;
    // "gathered": the seat is now HELD for the head's party, which does not fit yet (strict line).
    let gathered = false;
    while (line.length > 0 && offeredTo === undefined) {
      const u = line[0] as number;
      const result = await offerSeatInTransaction(tx, hold.eventId, seat.id, u);
      gathered = result === "gathered";
      if (result !== "offered" && result !== "skip") break;
      line.shift();
      if (result === "offered") offeredTo = u;
    }
    if (offeredTo !== undefined) offers.push({ seatId: seat.id, userId: offeredTo });
    if (offeredTo !== undefined || gathered) {
      seatChanges.push({ eventId: hold.eventId, seatNumber: seat.seatNumber, status: "HELD" });
    } else {
      seatChanges.push({ eventId: hold.eventId, seatNumber: seat.seatNumber, status: "AVAILABLE" });
      released.push({
        stream: Streams.seatReleased,
        payload: {
          event_id: hold.eventId,
          seat_id: seat.id,
          seat_number: seat.seatNumber,
          reason: status === "EXPIRED" ? "hold_expired" : "hold_released",
        },
      });
    }
  }
  await writeOutbox(tx, [
    ...released,
    ...(status === "EXPIRED"
      ? [
          domainEvent("hold.expired", hold.eventId, {
            hold_id: hold.id,
            user_id: hold.userId,
            seats: seats.map((s) => s.seatNumber),
            expired_at: hold.expiresAt.toISOString(),
          }),
        ]
      : []),
  ]);
  return { eventId: hold.eventId, seats: seatChanges, offers };
}

/** After COMMIT of an end: offers made leave the line and notify, caches drop, outbox goes. */
export async function afterEnd(ended: Ended): Promise<void> {
  // Side by side: each waits for the cache's readers to acknowledge, at most a lease.
  await Promise.all([
    ...ended.offers.map((o) => afterOffer(ended.eventId, o.seatId, o.userId)),
    published(ended.eventId, ended.seats, true),
  ]);
}

/** Who waits at the head of the event's line (enough for every seat), or undefined if Redis cannot say. */
export async function headsFor(eventId: number, seats: number): Promise<number[] | undefined> {
  try {
    return await headOfLine(eventId, seats + EXTRA_HEADS);
  } catch (err) {
    logger.warn({ err: errorMessage(err), event_id: eventId }, "waitlist heads unknown: redis error");
    return undefined;
  }
}

/**
 * The janitor's pass (workers/waitlist-janitor.ts): every ACTIVE hold past its end is EXPIRED and
 * its seats handed to the waitlist head in the same transaction, or put back on sale. While Redis
 * cannot say who waits, a hold is kept as it is (HELD, refused to everyone) until it can, so
 * nobody who is not waiting takes a seat someone waits for. Returns how many holds expired.
 */
export async function expireHolds(batch = 100): Promise<number> {
  // Who got a seat in this pass, per event: they leave the line only after the pass (below), so
  // later holds of the pass look past them.
  const offered = new Map<number, Set<number>>();
  const ended: Ended[] = [];
  for (const due of await repo.dueExpiredHolds(sql, batch)) {
    const already = offered.get(due.eventId) ?? new Set<number>();
    const line = await headsFor(due.eventId, (await repo.countHoldSeats(sql, due.id)) + already.size);
    if (line === undefined) continue;
    const heads = line.filter((u) => !already.has(u));
    const done = await sql.begin(async (tx) => {
      await repo.lockUsersForEvent(tx, [due.userId, ...heads], due.eventId);
      const hold = await repo.lockHold(tx, due.id);
      // Confirmed, released or extended meanwhile.
      if (hold?.status !== "ACTIVE" || hold.live) return undefined;
      return endActiveHold(tx, hold, heads, "EXPIRED");
    });
    if (!done) continue;
    ended.push(done);
    for (const o of done.offers) already.add(o.userId);
    offered.set(due.eventId, already);
  }
  // After every COMMIT of the pass, side by side: lines, notifications, caches, the relay.
  await Promise.all(ended.map(afterEnd));
  return ended.length;
}
