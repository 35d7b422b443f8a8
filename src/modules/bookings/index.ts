import { documentAlias } from "../../http/openapi";
import { createRouter } from "../../http/router";
import * as h from "./bookings.handlers";
import * as routes from "./bookings.routes";

export const bookingsRouter = createRouter()
  .openapi(routes.bookSeatRoute, h.handleBookSeat)
  .openapi(routes.bookManyRoute, h.handleBookMany)
  .openapi(routes.listMyBookingsRoute, h.handleListMine)
  .openapi(routes.getBookingRoute, h.handleGet)
  .openapi(routes.cancelBookingRoute, h.handleCancel);

documentAlias(bookingsRouter, routes.listMyBookingsRoute, { path: "/bookings/", operationId: "listMyBookingsAtSlash" });
