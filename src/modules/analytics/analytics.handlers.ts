import { currentUser } from "../../http/auth";
import { sendJson } from "../../http/json-response";
import type { AppRouteHandler } from "../../http/router";
import type {
  bookingTrends,
  capacityUtilization,
  myStats,
  overview,
  popularEvents,
  summary,
  userStats,
  venueAnalytics,
  waitlistFunnel,
} from "./analytics.routes";
import * as service from "./analytics.service";

export const handleOverview: AppRouteHandler<typeof overview> = async (c) => sendJson(c, await service.getOverview());

export const handlePopularEvents: AppRouteHandler<typeof popularEvents> = async (c) =>
  sendJson(c, await service.getPopularEvents(c.req.valid("query").limit));

export const handleCapacityUtilization: AppRouteHandler<typeof capacityUtilization> = async (c) =>
  sendJson(c, await service.getCapacityUtilization());

export const handleBookingTrends: AppRouteHandler<typeof bookingTrends> = async (c) =>
  sendJson(c, await service.getBookingTrends(c.req.valid("query").days));

export const handleUserStats: AppRouteHandler<typeof userStats> = async (c) =>
  sendJson(c, await service.getUserStats(c.req.valid("param").user_id));

export const handleMyStats: AppRouteHandler<typeof myStats> = async (c) =>
  sendJson(c, await service.getMyStats(currentUser(c)));

export const handleVenueAnalytics: AppRouteHandler<typeof venueAnalytics> = async (c) =>
  sendJson(c, await service.getVenueAnalytics());

export const handleSummary: AppRouteHandler<typeof summary> = async (c) => sendJson(c, await service.getSummary());

export const handleWaitlistFunnel: AppRouteHandler<typeof waitlistFunnel> = async (c) =>
  c.json(await service.getWaitlistFunnel(c.req.valid("query").event_id), 200);
