import { createRouter } from "../../http/router";
import * as h from "./waitlist.handlers";
import * as routes from "./waitlist.routes";

export const waitlistRouter = createRouter()
  .openapi(routes.joinRoute, h.handleJoin)
  .openapi(routes.positionRoute, h.handlePosition)
  .openapi(routes.leaveRoute, h.handleLeave)
  .openapi(routes.entriesRoute, h.handleEntries);
