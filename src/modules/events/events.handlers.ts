import type { Json } from "../../cache";
import { currentUser } from "../../http/auth";
import { sendJson } from "../../http/json-response";
import type { AppRouteHandler } from "../../http/router";
import type * as routes from "./events.routes";
import { seatRangeOf } from "./events.schemas";
import * as service from "./events.service";

export const handleCreate: AppRouteHandler<typeof routes.createEventRoute> = async (c) => {
  return c.json(await service.createEvent(currentUser(c), c.req.valid("json")), 201);
};

export const handleList: AppRouteHandler<typeof routes.listEventsRoute> = async (c) => {
  const { events, total } = await service.listEvents(c.req.valid("query"));
  c.header("X-Total-Count", String(total));
  return c.json(events, 200);
};

export const handleGet: AppRouteHandler<typeof routes.getEventRoute> = async (c) => {
  return sendJson(c, await service.getEventDetail(c.req.valid("param").id), 200);
};

export const handleUpdate: AppRouteHandler<typeof routes.updateEventRoute> = async (c) => {
  return c.json(await service.updateEvent(c.req.valid("param").id, c.req.valid("json")), 200);
};

export const handleDelete: AppRouteHandler<typeof routes.deleteEventRoute> = async (c) => {
  await service.deleteEvent(c.req.valid("param").id);
  return c.body(null, 204);
};

export const handleEventBookings: AppRouteHandler<typeof routes.eventBookingsRoute> = async (c) => {
  return c.json(await service.getEventWithBookings(c.req.valid("param").id), 200);
};

/** The seat map arrives as JSON text from PostgreSQL and is sent as is. */
export const handleSeatMap: AppRouteHandler<typeof routes.seatMapRoute> = async (c) => {
  const query = c.req.valid("query");
  const json = await service.getSeatMap(c.req.valid("param").id, query.status, seatRangeOf(query));
  return sendJson(c, json as Json<never>, 200) as never;
};

export const handleSeatStatus: AppRouteHandler<typeof routes.seatStatusRoute> = async (c) => {
  return sendJson(c, await service.getSeatStatus(c.req.valid("param").id), 200);
};
