/**
 * Inventory: who may have which seat. Bookings and the waitlist both change seats only through
 * these operations, inside their own transactions, so the lock order and the state checks live in
 * one place and neither module depends on the other's internals.
 */
export {
  type BookingOutcome,
  bookSeats,
  type DueHold,
  dueExpiredHolds,
  type ExpiredHold,
  holdSeatFor,
  type LiveSeatState,
  liveSeatStates,
  lockSeatForOffer,
  lockUserForEvent,
  type OfferSeat,
  releaseExpiredHold,
  type SeatHold,
  userHasSeatInEvent,
} from "./inventory.repo";
