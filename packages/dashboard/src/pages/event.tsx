import { useEffect, useMemo, useState } from "preact/hooks";
import { api, type SeatStatusVector, unwrap } from "../api";
import { SeatMap } from "../components/seat-map";
import { formatDateTime } from "../format";
import { useLoad } from "../hooks";
import { href } from "../router";
import { type FeedMode, liveSeatFeed, type SeatFeed } from "../seat-feed";

const defaultFeed = liveSeatFeed();

export function EventPage({ id, feed = defaultFeed }: { id: number; feed?: SeatFeed }) {
  const event = useLoad(async () => unwrap(await api.GET("/api/v1/events/{id}", { params: { path: { id } } })), [id]);
  const [vector, setVector] = useState<SeatStatusVector | undefined>();
  const [feedError, setFeedError] = useState<string | undefined>();
  const [mode, setMode] = useState<FeedMode | undefined>();
  useEffect(
    () =>
      feed.subscribe(
        id,
        (v) => {
          setVector(v);
          setFeedError(undefined);
        },
        (err) => setFeedError((err as Error).message),
        setMode,
      ),
    [id, feed],
  );
  // Bookings and the waitlist change when seats do: reload them with each new vector.
  const changeKey = useMemo(() => (vector ? `${vector.booked}:${vector.held}:${vector.available}` : ""), [vector]);
  const bookings = useLoad(
    async () => unwrap(await api.GET("/api/v1/events/{id}/bookings", { params: { path: { id } } })).bookings,
    [id, changeKey],
  );
  const waitlist = useLoad(
    async () =>
      unwrap(
        await api.GET("/api/v1/waitlist/{event_id}/entries", {
          params: { path: { event_id: id }, query: { limit: 200 } },
        }),
      ),
    [id, changeKey],
  );

  if (event.error) {
    return (
      <p class="error" role="alert">
        {event.error}
      </p>
    );
  }
  const e = event.data;
  return (
    <article aria-labelledby="event-title">
      <div class="title-row">
        <h1 id="event-title">{e?.name ?? "Event"}</h1>
        <a class="button" href={href.editEvent(id)}>
          Edit
        </a>
      </div>
      {e && (
        <dl class="facts">
          <dt>Venue</dt>
          <dd>{e.venue ?? "—"}</dd>
          <dt>Starts</dt>
          <dd>{formatDateTime(e.start_time)}</dd>
          <dt>Ends</dt>
          <dd>{formatDateTime(e.end_time)}</dd>
          <dt>Capacity</dt>
          <dd>{e.capacity}</dd>
        </dl>
      )}
      <section aria-labelledby="seats-title">
        <h2 id="seats-title">Seats</h2>
        <p class="feed-mode" data-testid="feed-mode" data-mode={mode}>
          {mode === "live" ? "Live updates" : mode === "polling" ? "Updates every few seconds" : ""}
        </p>
        {feedError && (
          <p class="error" role="alert">
            Live updates paused: {feedError}
          </p>
        )}
        {vector ? <SeatMap vector={vector} /> : <p aria-busy="true">Loading seats…</p>}
      </section>
      <section aria-labelledby="bookings-title">
        <h2 id="bookings-title">Bookings</h2>
        <div class="table-wrap scroll">
          <table data-testid="bookings">
            <thead>
              <tr>
                <th scope="col" class="num">
                  Seat
                </th>
                <th scope="col">Booked by</th>
                <th scope="col">At</th>
              </tr>
            </thead>
            <tbody>
              {bookings.data?.map((b) => (
                <tr key={b.booking_id}>
                  <td class="num">{b.seat_number}</td>
                  <td>{b.user_email}</td>
                  <td>{formatDateTime(b.created_at)}</td>
                </tr>
              ))}
              {bookings.data?.length === 0 && (
                <tr>
                  <td colSpan={3}>No bookings yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
      <section aria-labelledby="waitlist-title">
        <h2 id="waitlist-title">Waitlist</h2>
        {waitlist.error ? (
          <p class="error">{waitlist.error}</p>
        ) : (
          <div class="table-wrap scroll">
            <table data-testid="waitlist">
              <thead>
                <tr>
                  <th scope="col" class="num">
                    Position
                  </th>
                  <th scope="col">User</th>
                  <th scope="col" class="num">
                    Party
                  </th>
                  <th scope="col">Joined</th>
                </tr>
              </thead>
              <tbody>
                {waitlist.data?.map((w) => (
                  <tr key={w.user_id}>
                    <td class="num">{w.position}</td>
                    <td>{w.user_email ?? `user ${w.user_id}`}</td>
                    <td class="num">{w.party_size}</td>
                    <td>{formatDateTime(w.joined_at)}</td>
                  </tr>
                ))}
                {waitlist.data?.length === 0 && (
                  <tr>
                    <td colSpan={4}>Nobody is waiting.</td>
                  </tr>
                )}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </article>
  );
}
