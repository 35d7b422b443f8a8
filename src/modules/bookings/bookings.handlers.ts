import { currentUser } from "../../http/auth";
import { fingerprint, refusalFrom, type StoredResponse } from "../../http/idempotency";
import type { AppRouteHandler } from "../../http/router";
import type * as routes from "./bookings.routes";
import type { BookingDto } from "./bookings.schemas";
import * as service from "./bookings.service";

/** A replayed refusal is thrown again; a replayed success is marked with Idempotent-Replayed. */
function unwrap(stored: StoredResponse, c: { header(name: string, value: string): void }): unknown {
  const refusal = refusalFrom(stored);
  if (refusal) throw refusal;
  if (stored.replayed) c.header("Idempotent-Replayed", "true");
  return stored.body;
}

export const handleBookSeat: AppRouteHandler<typeof routes.bookSeatRoute> = async (c) => {
  const { id, seat_number } = c.req.valid("param");
  const stored = await service.bookSeats(
    currentUser(c),
    id,
    { seatNumbers: [seat_number] },
    {
      single: true,
      idempotencyKey: c.req.valid("header")["idempotency-key"],
      fingerprint: fingerprint(["book", id, seat_number]),
    },
  );
  return c.json(unwrap(stored, c) as BookingDto, 201);
};

export const handleBookMany: AppRouteHandler<typeof routes.bookManyRoute> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const request = "seat_numbers" in body ? { seatNumbers: body.seat_numbers } : { quantity: body.quantity };
  const stored = await service.bookSeats(currentUser(c), id, request, {
    single: false,
    idempotencyKey: c.req.valid("header")["idempotency-key"],
    fingerprint: fingerprint(["book-many", id, request]),
  });
  return c.json(unwrap(stored, c) as { bookings: BookingDto[] }, 201);
};

export const handleListMine: AppRouteHandler<typeof routes.listMyBookingsRoute> = async (c) => {
  const { limit, offset } = c.req.valid("query");
  const { bookings, total } = await service.listMyBookings(currentUser(c), limit, offset);
  c.header("X-Total-Count", String(total));
  return c.json(bookings, 200);
};

export const handleGet: AppRouteHandler<typeof routes.getBookingRoute> = async (c) => {
  return c.json(await service.getBooking(currentUser(c), c.req.valid("param").id), 200);
};

export const handleCancel: AppRouteHandler<typeof routes.cancelBookingRoute> = async (c) => {
  return c.json(await service.cancelBooking(currentUser(c), c.req.valid("param").id), 200);
};
