import { createRouter } from "../../http/router";
import * as h from "./waitlist.handlers";
import * as routes from "./waitlist.routes";

// The offers' static paths first, so /waitlist/offers is never read as /waitlist/{event_id}.
export const waitlistRouter = createRouter()
  .openapi(routes.myOffersRoute, h.handleMyOffers)
  .openapi(routes.acceptOfferRoute, h.handleAcceptOffer)
  .openapi(routes.declineOfferRoute, h.handleDeclineOffer)
  .openapi(routes.joinRoute, h.handleJoin)
  .openapi(routes.positionRoute, h.handlePosition)
  .openapi(routes.leaveRoute, h.handleLeave)
  .openapi(routes.entriesRoute, h.handleEntries);
