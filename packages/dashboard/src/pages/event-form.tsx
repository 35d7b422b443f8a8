import type { InputHTMLAttributes } from "preact";
import { useState } from "preact/hooks";
import { ApiError, api, unwrap } from "../api";
import { fromLocalInput, toLocalInput } from "../format";
import { useLoad } from "../hooks";
import { href, navigate } from "../router";

/** Create (no id) or edit an event; editing also offers delete. Capacity changes are edits. */
export function EventFormPage({ id }: { id?: number }) {
  const existing = useLoad(
    async () => (id ? unwrap(await api.GET("/api/v1/events/{id}", { params: { path: { id } } })) : undefined),
    [id],
  );
  const [problem, setProblem] = useState<ApiError | undefined>();
  const [busy, setBusy] = useState(false);
  const event = existing.data;

  const submit = async (e: SubmitEvent) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const text = (key: string) => String(form.get(key) ?? "").trim();
    const body = {
      name: text("name"),
      venue: text("venue") || null,
      description: text("description") || null,
      start_time: fromLocalInput(text("start_time")) ?? "",
      end_time: fromLocalInput(text("end_time")),
      capacity: Number(text("capacity")),
      waitlist_policy: text("waitlist_policy") === "first_fit" ? ("first_fit" as const) : ("strict" as const),
    };
    setBusy(true);
    setProblem(undefined);
    try {
      const saved = id
        ? unwrap(await api.PUT("/api/v1/events/{id}", { params: { path: { id } }, body }))
        : unwrap(await api.POST("/api/v1/events", { body }));
      navigate(href.event(saved.id));
    } catch (err) {
      setProblem(err instanceof ApiError ? err : new ApiError(0, { detail: "The API could not be reached." }));
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!id || !event) return;
    if (!window.confirm(`Delete “${event.name}”? Its bookings are cancelled and their holders notified.`)) return;
    setBusy(true);
    try {
      unwrap(await api.DELETE("/api/v1/events/{id}", { params: { path: { id } } }));
      navigate(href.events);
    } catch (err) {
      setProblem(err as ApiError);
      setBusy(false);
    }
  };

  if (id && existing.error) {
    return (
      <p class="error" role="alert">
        {existing.error}
      </p>
    );
  }
  if (id && !event) return <p aria-busy="true">Loading…</p>;
  const title = event ? `Edit ${event.name}` : "New event";
  return (
    <section aria-labelledby="form-title">
      <h1 id="form-title">{title}</h1>
      <form class="event-form" onSubmit={submit} key={event?.id ?? "new"}>
        <Field id="name" label="Name" required defaultValue={event?.name} maxLength={200} />
        <Field id="venue" label="Venue" defaultValue={event?.venue ?? ""} maxLength={200} />
        <label for="description">Description</label>
        <textarea id="description" name="description" rows={3} maxLength={5000}>
          {event?.description ?? ""}
        </textarea>
        <Field
          id="start_time"
          label="Starts"
          type="datetime-local"
          required
          defaultValue={toLocalInput(event?.start_time)}
        />
        <Field
          id="end_time"
          label="Ends (optional)"
          type="datetime-local"
          defaultValue={toLocalInput(event?.end_time)}
        />
        <Field
          id="capacity"
          label="Capacity (seats)"
          type="number"
          required
          min={1}
          max={100000}
          defaultValue={String(event?.capacity ?? 100)}
          hint={event ? "Seats can be added, or removed from the end while they are all available." : undefined}
        />
        <label for="waitlist_policy">Waitlist policy</label>
        <select id="waitlist_policy" name="waitlist_policy" defaultValue={event?.waitlist_policy ?? "strict"}>
          <option value="strict">Strict: first in, first out</option>
          <option value="first_fit">First fit: smaller parties may go first</option>
        </select>
        {problem && (
          <div class="error" role="alert">
            <p>{problem.message}</p>
            {problem.problem?.errors && (
              <ul>
                {problem.problem.errors.map((f) => (
                  <li key={f.field}>
                    {f.field}: {f.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <div class="actions">
          <button type="submit" disabled={busy}>
            {event ? "Save changes" : "Create event"}
          </button>
          <a href={event ? href.event(event.id) : href.events}>Cancel</a>
          {event && (
            <button type="button" class="danger" disabled={busy} onClick={remove}>
              Delete event
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

interface FieldProps {
  id: string;
  label: string;
  type?: "text" | "number" | "datetime-local";
  required?: boolean;
  defaultValue?: string;
  maxLength?: number;
  min?: number;
  max?: number;
  hint?: string;
}

function Field({ id, label, hint, ...input }: FieldProps) {
  return (
    <>
      <label for={id}>{label}</label>
      <input
        id={id}
        name={id}
        aria-describedby={hint ? `${id}-hint` : undefined}
        {...(input as InputHTMLAttributes<HTMLInputElement>)}
      />
      {hint && (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      )}
    </>
  );
}
