import { createRouter } from "../../http/router";
import * as handlers from "./analytics.handlers";
import * as routes from "./analytics.routes";

export const analyticsRouter = createRouter()
  .openapi(routes.overview, handlers.handleOverview)
  .openapi(routes.popularEvents, handlers.handlePopularEvents)
  .openapi(routes.capacityUtilization, handlers.handleCapacityUtilization)
  .openapi(routes.bookingTrends, handlers.handleBookingTrends)
  .openapi(routes.userStats, handlers.handleUserStats)
  .openapi(routes.myStats, handlers.handleMyStats)
  .openapi(routes.venueAnalytics, handlers.handleVenueAnalytics)
  .openapi(routes.summary, handlers.handleSummary)
  .openapi(routes.waitlistFunnel, handlers.handleWaitlistFunnel);
