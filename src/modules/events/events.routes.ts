import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../../http/auth";
import { idParam, jsonContent, pagedJsonContent, problems } from "../../http/router";
import {
  EventCreateSchema,
  EventDetailSchema,
  EventListQuery,
  EventSchema,
  EventUpdateSchema,
  EventWithBookingsSchema,
  SeatMapQuery,
  SeatSchema,
} from "./events.schemas";

const tags = ["Events"];
const IdParams = z.object({ id: idParam("id") });
const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: { "application/json": { schema } } },
});

export const createEventRoute = createRoute({
  method: "post",
  path: "/events",
  tags,
  description: "Creates an event and its seats 1..capacity in one transaction (admin).",
  ...adminOnly(),
  request: jsonBody(EventCreateSchema),
  responses: { 201: jsonContent(EventSchema, "The new event"), ...problems(400, 401, 403, 409) },
});

export const listEventsRoute = createRoute({
  method: "get",
  path: "/events",
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
  tags,
  description: "The event with its BOOKED bookings (admin). Same as /events/{id}/bookings.",
  ...adminOnly(),
  request: { params: IdParams },
  responses: { 200: jsonContent(EventWithBookingsSchema, "Event and bookings"), ...problems(401, 403, 404) },
});

export const eventBookingsRoute = createRoute({
  ...eventBookingsByPrefixRoute,
  path: "/events/{id}/bookings",
  description: "The event with its BOOKED bookings (admin).",
});

export const getEventRoute = createRoute({
  method: "get",
  path: "/events/{id}",
  tags,
  request: { params: IdParams },
  responses: { 200: jsonContent(EventDetailSchema, "The event with seat counts"), ...problems(404) },
});

export const updateEventRoute = createRoute({
  method: "put",
  path: "/events/{id}",
  tags,
  description: "Partial update (admin). Capacity may grow, or shrink while the removed seats are all AVAILABLE.",
  ...adminOnly(),
  request: { params: IdParams, ...jsonBody(EventUpdateSchema) },
  responses: { 200: jsonContent(EventSchema, "The updated event"), ...problems(400, 401, 403, 404, 409) },
});

export const deleteEventRoute = createRoute({
  method: "delete",
  path: "/events/{id}",
  tags,
  description: "Soft delete (admin): BOOKED bookings become CANCELLED and holders are notified.",
  ...adminOnly(),
  request: { params: IdParams },
  responses: { 204: { description: "Deleted" }, ...problems(401, 403, 404) },
});

export const seatMapRoute = createRoute({
  method: "get",
  path: "/events/{id}/seats",
  tags,
  description:
    "Seats in seat_number order: every seat, or one page with `from`/`to`. Large answers are compressed for clients that send `Accept-Encoding: br` or `gzip`.",
  request: { params: IdParams, query: SeatMapQuery },
  responses: { 200: jsonContent(z.array(SeatSchema), "Seats in seat_number order"), ...problems(404) },
});
