import { documentAlias } from "../../http/openapi";
import { createRouter } from "../../http/router";
import * as h from "./events.handlers";
import * as routes from "./events.routes";

// /events/bookings/{id} is registered before /events/{id} so "bookings" is never read as an id.
export const eventsRouter = createRouter()
  .openapi(routes.createEventRoute, h.handleCreate)
  .openapi(routes.listEventsRoute, h.handleList)
  .openapi(routes.eventBookingsByPrefixRoute, h.handleEventBookings)
  .openapi(routes.eventBookingsRoute, h.handleEventBookings)
  .openapi(routes.seatMapRoute, h.handleSeatMap)
  .openapi(routes.seatStatusRoute, h.handleSeatStatus)
  .openapi(routes.getEventRoute, h.handleGet)
  .openapi(routes.updateEventRoute, h.handleUpdate)
  .openapi(routes.deleteEventRoute, h.handleDelete);

documentAlias(eventsRouter, routes.createEventRoute, { path: "/events/", operationId: "createEventAtSlash" });
documentAlias(eventsRouter, routes.listEventsRoute, { path: "/events/", operationId: "listEventsAtSlash" });
