import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../http/auth";
import { problems } from "../../http/openapi";
import { idParam, jsonContent, pagedJsonContent } from "../../http/router";
import { PaginationQuery } from "../users/users.schemas";
import { BookingSchema, BookManyRequestSchema, IdempotencyHeaders, MultiBookingSchema } from "./bookings.schemas";

const tags = ["Bookings"];

export const bookSeatRoute = createRoute({
  method: "post",
  path: "/events/{id}/book/{seat_number}",
  operationId: "bookSeat",
  summary: "Book one seat",
  tags,
  description:
    "Books one seat in one transaction (SELECT … FOR UPDATE on the seat). The holder of a waitlist offer books the held seat here.",
  ...authed(),
  request: {
    params: z.object({
      id: idParam("id"),
      seat_number: z.coerce
        .number()
        .int()
        .min(1)
        .max(100_000)
        .openapi({ param: { name: "seat_number", in: "path" }, example: 12 }),
    }),
    headers: IdempotencyHeaders,
  },
  responses: { 201: jsonContent(BookingSchema, "The booking"), ...problems(401, 404, 409) },
});

export const bookManyRoute = createRoute({
  method: "post",
  path: "/events/{id}/bookings",
  operationId: "bookSeats",
  summary: "Book several seats, or a quantity best available",
  tags,
  description:
    "`{seat_numbers}`: all or nothing, seats locked in ascending order. `{quantity}`: best available with SKIP LOCKED.",
  ...authed(),
  request: {
    params: z.object({ id: idParam("id") }),
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: BookManyRequestSchema } } },
  },
  responses: { 201: jsonContent(MultiBookingSchema, "The bookings"), ...problems(400, 401, 404, 409) },
});

export const listMyBookingsRoute = createRoute({
  method: "get",
  path: "/bookings",
  operationId: "listMyBookings",
  summary: "The caller's bookings",
  tags,
  description: "The caller's bookings, newest first.",
  ...authed(),
  request: { query: PaginationQuery },
  responses: {
    200: pagedJsonContent(BookingSchema, "A page of bookings"),
    ...problems(401),
  },
});

export const getBookingRoute = createRoute({
  method: "get",
  path: "/bookings/{id}",
  operationId: "getBooking",
  summary: "One booking",
  tags,
  description: "One booking (owner or admin; anyone else gets 404).",
  ...authed(),
  request: { params: z.object({ id: idParam("id") }) },
  responses: { 200: jsonContent(BookingSchema, "The booking"), ...problems(401, 404) },
});

export const cancelBookingRoute = createRoute({
  method: "delete",
  path: "/bookings/cancel/{id}",
  operationId: "cancelBooking",
  summary: "Cancel a booking",
  tags,
  description: "Cancels a booking (owner or admin); the seat is released and `seat.released` published.",
  ...authed(),
  request: { params: z.object({ id: idParam("id") }) },
  responses: { 200: jsonContent(BookingSchema, "The cancelled booking"), ...problems(401, 404, 409) },
});
