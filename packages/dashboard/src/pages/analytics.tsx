import { useMemo } from "preact/hooks";
import { api, type Schemas, unwrap } from "../api";
import { ChartFigure, type Series } from "../components/chart";
import { useLoad } from "../hooks";

// Colours chosen for contrast on white (each at least 4.5:1 against the page background).
const BLUE = "#1d4ed8";
const GREEN = "#047857";
const PURPLE = "#6d28d9";
const ORANGE = "#b45309";
const TEAL = "#0f766e";

interface Figures {
  trends: Schemas["BookingTrend"][];
  utilization: Schemas["CapacityUtilization"][];
  venues: Schemas["VenueAnalytics"][];
  popular: Schemas["PopularEvent"][];
  summary: Schemas["AnalyticsSummary"];
  funnel: Schemas["WaitlistFunnel"];
}

export function AnalyticsPage() {
  const figures = useLoad(async (): Promise<Figures> => {
    const [trends, utilization, venues, popular, summary, funnel] = await Promise.all([
      api.GET("/api/v1/analytics/booking-trends", { params: { query: { days: 30 } } }).then(unwrap),
      api.GET("/api/v1/analytics/capacity-utilization").then(unwrap),
      api.GET("/api/v1/analytics/venue-analytics").then(unwrap),
      api.GET("/api/v1/analytics/popular-events", { params: { query: { limit: 10 } } }).then(unwrap),
      api.GET("/api/v1/analytics/summary").then(unwrap),
      api.GET("/api/v1/analytics/waitlist-funnel").then(unwrap),
    ]);
    return { trends, utilization, venues, popular, summary, funnel };
  }, []);
  const f = figures.data;
  const charts = useMemo(() => (f ? chartsOf(f) : undefined), [f]);

  return (
    <section aria-labelledby="analytics-title">
      <div class="title-row">
        <h1 id="analytics-title">Analytics</h1>
        <button type="button" onClick={figures.reload} disabled={figures.loading}>
          Refresh
        </button>
      </div>
      <p class="hint">Figures are cached by the API for up to 15 seconds.</p>
      {figures.error && (
        <p class="error" role="alert">
          {figures.error}
        </p>
      )}
      {f && (
        <dl class="totals" data-testid="totals">
          <div>
            <dt>Bookings</dt>
            <dd data-total="total_bookings">{f.summary.total_bookings}</dd>
          </div>
          <div>
            <dt>Events</dt>
            <dd data-total="total_events">{f.summary.total_events}</dd>
          </div>
          <div>
            <dt>Users</dt>
            <dd data-total="total_users">{f.summary.total_users}</dd>
          </div>
          <div>
            <dt>Average utilization</dt>
            <dd data-total="average_capacity_utilization">{f.summary.average_capacity_utilization}%</dd>
          </div>
        </dl>
      )}
      {charts && (
        <div class="charts">
          <ChartFigure
            id="bookings-per-day"
            title="Bookings per day (last 30 days, UTC)"
            kind="line"
            {...charts.trends}
          />
          <ChartFigure
            id="utilization-by-event"
            title="Capacity utilization by event (%)"
            kind="bar"
            horizontal
            unit="%"
            {...charts.utilization}
          />
          <ChartFigure
            id="utilization-by-venue"
            title="Average utilization by venue (%)"
            kind="bar"
            horizontal
            unit="%"
            {...charts.venues}
          />
          <ChartFigure id="popular-events" title="Most booked events" kind="bar" horizontal {...charts.popular} />
          <div>
            <ChartFigure id="waitlist-funnel" title="Waitlist funnel (all events)" kind="bar" {...charts.funnel} />
            <p class="hint" data-testid="funnel-rates">
              Conversion (accepted / offered):{" "}
              {f?.funnel.conversion_rate === null || !f ? "–" : `${Math.round(f.funnel.conversion_rate * 1000) / 10}%`}
              {"; "}median time to accept:{" "}
              {f?.funnel.median_seconds_to_accept == null ? "–" : `${f.funnel.median_seconds_to_accept} s`}
            </p>
          </div>
        </div>
      )}
    </section>
  );
}

const venueName = (venue: string | null) => venue ?? "(no venue)";

type ChartData = { labels: string[]; series: Series[] };

/** The funnel's steps, in order, as the chart's categories. */
export const FUNNEL_STEPS = [
  ["Joined", "joined"],
  ["Offered", "offered"],
  ["Accepted", "accepted"],
  ["Declined", "declined"],
  ["Expired", "expired"],
] as const;

function chartsOf(f: Figures): Record<"trends" | "utilization" | "venues" | "popular" | "funnel", ChartData> {
  return {
    trends: {
      labels: f.trends.map((t) => t.date),
      series: [{ label: "Bookings", values: f.trends.map((t) => t.total_bookings), color: BLUE }],
    },
    utilization: {
      labels: f.utilization.map((u) => u.event_name),
      series: [{ label: "Utilization", values: f.utilization.map((u) => u.utilization_percentage), color: GREEN }],
    },
    venues: {
      labels: f.venues.map((v) => venueName(v.venue)),
      series: [{ label: "Average utilization", values: f.venues.map((v) => v.average_utilization), color: PURPLE }],
    },
    popular: {
      labels: f.popular.map((p) => p.event_name),
      series: [{ label: "Bookings", values: f.popular.map((p) => p.total_bookings), color: ORANGE }],
    },
    funnel: {
      labels: FUNNEL_STEPS.map(([label]) => label),
      series: [{ label: "Count", values: FUNNEL_STEPS.map(([, key]) => f.funnel[key]), color: TEAL }],
    },
  };
}
