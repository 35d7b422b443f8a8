import { createRoute, z } from "@hono/zod-openapi";
import { problems } from "../../http/openapi";
import { idParam } from "../../http/router";

export const liveRoute = createRoute({
  method: "get",
  path: "/events/{id}/live",
  operationId: "streamEventLive",
  summary: "Live seat availability (Server-Sent Events)",
  tags: ["Events"],
  security: [],
  description: [
    "A `text/event-stream` that never ends on its own (docs/live.md). First `retry:`, then an `event: snapshot`",
    "(the seat-status vector: counts and one character per seat), then one `event: seats` per batch of",
    'changes (`changes`: `[seat_number, "A"|"H"|"B", version]`, plus the counts), at most every 50 ms,',
    "each with a monotonically increasing `id:`. A reconnect with `Last-Event-ID` (or `?last_event_id=`)",
    "gets the seats changed since then, or a fresh snapshot when the id is older than the last",
    "LIVE_RESUME_ENTRIES changes of the event. `: heartbeat` comments every 15 s; `event: deleted`",
    "ends the stream when the event is deleted. 429 beyond the per-address cap, 503 beyond the",
    "per-process cap or without Redis (fall back to polling seat-status).",
  ].join(" "),
  request: {
    params: z.object({ id: idParam("id") }),
    query: z.object({
      last_event_id: z
        .string()
        .max(64)
        .optional()
        .openapi({ description: "Same as the Last-Event-ID header (for clients that cannot set it)" }),
    }),
    headers: z.object({
      "last-event-id": z.string().max(64).optional().openapi({ description: "The `id:` of the last message received" }),
    }),
  },
  responses: {
    200: {
      description: "The event stream",
      content: {
        "text/event-stream": {
          schema: z.string().openapi({
            example:
              'retry: 3000\n\nid: 1764633600000-0\nevent: snapshot\ndata: {"event_id":1,"capacity":4,"available":3,"held":0,"booked":1,"statuses":"AABA"}\n\nid: 1764633600123-0\nevent: seats\ndata: {"event_id":1,"changes":[[1,"B",1]],"available":2,"held":0,"booked":2}\n\n',
          }),
        },
      },
    },
    ...problems(404, 429, 503),
  },
});
