import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../../http/auth";
import { problems } from "../../http/openapi";
import { idParam, jsonContent, pagedJsonContent } from "../../http/router";
import {
  EventCreateSchema,
  EventDetailSchema,
  EventListQuery,
  EventSchema,
  EventUpdateSchema,
  EventWithBookingsSchema,
  SeatMapQuery,
  SeatSchema,
  SeatStatusVectorSchema,
} from "./events.schemas";

const tags = ["Events"];
const IdParams = z.object({ id: idParam("id") });
const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: { "application/json": { schema } } },
});

export const createEventRoute = createRoute({
  method: "post",
  path: "/events",
  operationId: "createEvent",
  summary: "Create an event and its seats (admin)",
  tags,
  description: "Creates an event and its seats 1..capacity in one transaction (admin).",
  ...adminOnly(),
  request: jsonBody(EventCreateSchema),
  responses: { 201: jsonContent(EventSchema, "The new event"), ...problems(400, 401, 403, 409) },
});

export const listEventsRoute = createRoute({
  method: "get",
  path: "/events",
  operationId: "listEvents",
  summary: "List and filter events",
  tags,
  description: "Events ordered by start_time; name and venue are case-insensitive substring filters.",
  request: { query: EventListQuery },
  responses: {
    200: pagedJsonContent(EventSchema, "A page of events"),
    ...problems(),
  },
});

export const eventBookingsByPrefixRoute = createRoute({
  method: "get",
  path: "/events/bookings/{id}",
  operationId: "getEventBookingsByPrefix",
  summary: "An event with its bookings, at the older path (admin)",
  tags,
  description: "The event with its BOOKED bookings (admin). Same as /events/{id}/bookings.",
  ...adminOnly(),
  request: { params: IdParams },
  responses: { 200: jsonContent(EventWithBookingsSchema, "Event and bookings"), ...problems(401, 403, 404) },
});

export const eventBookingsRoute = createRoute({
  ...eventBookingsByPrefixRoute,
  path: "/events/{id}/bookings",
  operationId: "getEventBookings",
  summary: "An event with its bookings (admin)",
  description: "The event with its BOOKED bookings (admin).",
});

export const getEventRoute = createRoute({
  method: "get",
  path: "/events/{id}",
  operationId: "getEvent",
  summary: "One event with its seat counts",
  tags,
  request: { params: IdParams },
  responses: { 200: jsonContent(EventDetailSchema, "The event with seat counts"), ...problems(404) },
});

export const updateEventRoute = createRoute({
  method: "put",
  path: "/events/{id}",
  operationId: "updateEvent",
  summary: "Update an event, capacity included (admin)",
  tags,
  description: "Partial update (admin). Capacity may grow, or shrink while the removed seats are all AVAILABLE.",
  ...adminOnly(),
  request: { params: IdParams, ...jsonBody(EventUpdateSchema) },
  responses: { 200: jsonContent(EventSchema, "The updated event"), ...problems(400, 401, 403, 404, 409) },
});

export const deleteEventRoute = createRoute({
  method: "delete",
  path: "/events/{id}",
  operationId: "deleteEvent",
  summary: "Delete an event (admin)",
  tags,
  description: "Soft delete (admin): BOOKED bookings become CANCELLED and holders are notified.",
  ...adminOnly(),
  request: { params: IdParams },
  responses: { 204: { description: "Deleted" }, ...problems(401, 403, 404) },
});

export const seatMapRoute = createRoute({
  method: "get",
  path: "/events/{id}/seats",
  operationId: "listSeats",
  summary: "The seat map, optionally by status",
  tags,
  description:
    "Seats in seat_number order: every seat, or one page with `from`/`to`. Large answers are compressed for clients that send `Accept-Encoding: br` or `gzip`.",
  request: { params: IdParams, query: SeatMapQuery },
  responses: { 200: jsonContent(z.array(SeatSchema), "Seats in seat_number order"), ...problems(404) },
});

export const seatStatusRoute = createRoute({
  method: "get",
  path: "/events/{id}/seat-status",
  operationId: "getSeatStatus",
  summary: "The seat map as a compact status vector",
  tags,
  description:
    "One character per seat (A, H, B) and the counts: a few bytes per seat instead of an object, for views that refresh often. Cached like the seat map and invalidated by every booking, cancel, hold and release.",
  request: { params: IdParams },
  responses: { 200: jsonContent(SeatStatusVectorSchema, "Seat statuses in seat_number order"), ...problems(404) },
});
