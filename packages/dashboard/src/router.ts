import { useEffect, useState } from "preact/hooks";

/** Hash routes (#/events/3): the API serves one static page and never needs to know the routes. */
export type Route =
  | { page: "events" }
  | { page: "new-event" }
  | { page: "event"; id: number }
  | { page: "edit-event"; id: number }
  | { page: "analytics" };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const id = Number(parts[1]);
  if (parts[0] === "analytics") return { page: "analytics" };
  if (parts[0] === "events" && parts[1] === "new") return { page: "new-event" };
  if (parts[0] === "events" && Number.isInteger(id) && id > 0) {
    return parts[2] === "edit" ? { page: "edit-event", id } : { page: "event", id };
  }
  return { page: "events" };
}

export const href = {
  events: "#/events",
  newEvent: "#/events/new",
  event: (id: number) => `#/events/${id}`,
  editEvent: (id: number) => `#/events/${id}/edit`,
  analytics: "#/analytics",
};

export function navigate(to: string): void {
  window.location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
