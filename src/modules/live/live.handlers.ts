import { clientIp } from "../../http/client-ip";
import type { AppRouteHandler } from "../../http/router";
import type * as routes from "./live.routes";
import * as service from "./live.service";

interface BunServerLike {
  timeout?: (request: Request, seconds: number) => void;
}

/** The stream is written by the live hub; this only opens it and sets the SSE headers. */
export const handleLive: AppRouteHandler<typeof routes.liveRoute> = async (c) => {
  const { id } = c.req.valid("param");
  const lastEventId = c.req.valid("header")["last-event-id"] ?? c.req.valid("query").last_event_id;
  const stream = await service.openLiveStream(id, clientIp(c), lastEventId);
  // The server's idle timeout is for requests; a stream lives on heartbeats.
  (c.env as BunServerLike | undefined)?.timeout?.(c.req.raw, 0);
  return new Response(stream, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      // nginx: pass each message on as it comes (no proxy buffering) for this response.
      "x-accel-buffering": "no",
      "x-request-id": c.get("requestId"),
    },
  }) as never;
};
