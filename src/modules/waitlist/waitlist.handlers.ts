import { currentUser } from "../../http/auth";
import type { AppRouteHandler } from "../../http/router";
import type * as routes from "./waitlist.routes";
import * as service from "./waitlist.service";

export const handleJoin: AppRouteHandler<typeof routes.joinRoute> = async (c) => {
  // The body is optional (the seed sent none): without one, the party is 1.
  const body = c.req.valid("json") as { party_size?: number } | undefined;
  const { created, entry } = await service.join(currentUser(c), c.req.valid("param").event_id, body?.party_size ?? 1);
  return created ? c.json(entry, 201) : c.json(entry, 200);
};

export const handlePosition: AppRouteHandler<typeof routes.positionRoute> = async (c) => {
  return c.json(await service.position(currentUser(c), c.req.valid("param").event_id), 200);
};

export const handleLeave: AppRouteHandler<typeof routes.leaveRoute> = async (c) => {
  await service.leave(currentUser(c), c.req.valid("param").event_id);
  return c.body(null, 204);
};

export const handleEntries: AppRouteHandler<typeof routes.entriesRoute> = async (c) => {
  return c.json(await service.entries(c.req.valid("param").event_id, c.req.valid("query").limit), 200);
};

export const handleMyOffers: AppRouteHandler<typeof routes.myOffersRoute> = async (c) => {
  return c.json(await service.myOffers(currentUser(c)), 200);
};

export const handleAcceptOffer: AppRouteHandler<typeof routes.acceptOfferRoute> = async (c) => {
  return c.json(await service.acceptOffer(currentUser(c), c.req.valid("param").offer_id), 201);
};

export const handleDeclineOffer: AppRouteHandler<typeof routes.declineOfferRoute> = async (c) => {
  return c.json(await service.declineMyOffer(currentUser(c), c.req.valid("param").offer_id), 200);
};
