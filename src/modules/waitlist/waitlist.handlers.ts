import { currentUser } from "../../http/auth";
import type { AppRouteHandler } from "../../http/router";
import type * as routes from "./waitlist.routes";
import * as service from "./waitlist.service";

export const handleJoin: AppRouteHandler<typeof routes.joinRoute> = async (c) => {
  const { created, entry } = await service.join(currentUser(c), c.req.valid("param").event_id);
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
