import { useState } from "preact/hooks";
import { api, unwrap } from "../api";
import { formatDateTime } from "../format";
import { useLoad } from "../hooks";
import { href } from "../router";

const PAGE = 20;

export function EventsPage() {
  const [name, setName] = useState("");
  const [offset, setOffset] = useState(0);
  const list = useLoad(async () => {
    const result = await api.GET("/api/v1/events", {
      params: { query: { limit: PAGE, offset, name: name || undefined } },
    });
    return { events: unwrap(result), total: Number(result.response.headers.get("x-total-count") ?? 0) };
  }, [name, offset]);
  const total = list.data?.total ?? 0;
  return (
    <section aria-labelledby="events-title">
      <div class="title-row">
        <h1 id="events-title">Events</h1>
        <a class="button" href={href.newEvent}>
          New event
        </a>
      </div>
      <search>
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            const value = new FormData(e.currentTarget as HTMLFormElement).get("name");
            setOffset(0);
            setName(String(value ?? "").trim());
          }}
        >
          <label for="filter-name">Name contains</label>
          <input id="filter-name" name="name" type="search" defaultValue={name} />
          <button type="submit">Filter</button>
        </form>
      </search>
      {list.error && (
        <p class="error" role="alert">
          {list.error}
        </p>
      )}
      <div class="table-wrap">
        <table class="events" aria-busy={list.loading}>
          <caption class="visually-hidden">Events, soonest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Venue</th>
              <th scope="col">Starts</th>
              <th scope="col" class="num">
                Capacity
              </th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {list.data?.events.map((event) => (
              <tr key={event.id} data-event-id={event.id}>
                <th scope="row">
                  <a href={href.event(event.id)}>{event.name}</a>
                </th>
                <td>{event.venue ?? "—"}</td>
                <td>{formatDateTime(event.start_time)}</td>
                <td class="num">{event.capacity}</td>
                <td>
                  <a href={href.editEvent(event.id)} aria-label={`Edit ${event.name}`}>
                    Edit
                  </a>
                </td>
              </tr>
            ))}
            {list.data && list.data.events.length === 0 && (
              <tr>
                <td colSpan={5}>No events{name ? ` matching “${name}”` : ""}.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Previous
        </button>
        <span aria-live="polite">
          {total === 0 ? "0 events" : `${offset + 1}–${Math.min(offset + PAGE, total)} of ${total}`}
        </span>
        <button type="button" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
          Next
        </button>
      </nav>
    </section>
  );
}
