import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly, authed } from "../../http/auth";
import { problems } from "../../http/openapi";
import { idParam, jsonContent } from "../../http/router";
import { WaitlistEntrySchema, WaitlistLineSchema } from "./waitlist.schemas";

const tags = ["Waitlist"];
const params = z.object({ event_id: idParam("event_id") });

export const joinRoute = createRoute({
  method: "post",
  path: "/waitlist/{event_id}",
  operationId: "joinWaitlist",
  summary: "Join a sold-out event's waitlist",
  tags,
  description:
    "Joins the waitlist of a sold-out event (201); joining again keeps the first place (200). When a seat is freed the head of the line gets a timed offer (the seat is HELD for them).",
  ...authed(),
  request: { params },
  responses: {
    201: jsonContent(WaitlistEntrySchema, "Joined"),
    200: jsonContent(WaitlistEntrySchema, "Already on the list: the first position is kept"),
    ...problems(401, 404, 409, 503),
  },
});

export const positionRoute = createRoute({
  method: "get",
  path: "/waitlist/{event_id}",
  operationId: "getWaitlistPosition",
  summary: "The caller's place on a waitlist",
  tags,
  ...authed(),
  request: { params },
  responses: { 200: jsonContent(WaitlistEntrySchema, "The caller's place"), ...problems(401, 404, 503) },
});

export const leaveRoute = createRoute({
  method: "delete",
  path: "/waitlist/{event_id}",
  operationId: "leaveWaitlist",
  summary: "Leave a waitlist",
  tags,
  ...authed(),
  request: { params },
  responses: { 204: { description: "Left the list" }, ...problems(401, 404, 503) },
});

export const entriesRoute = createRoute({
  method: "get",
  path: "/waitlist/{event_id}/entries",
  operationId: "listWaitlistEntries",
  summary: "An event's waitlist, head first (admin)",
  tags,
  description: "The ordered line (admin).",
  ...adminOnly(),
  request: {
    params,
    query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(200) }),
  },
  responses: { 200: jsonContent(WaitlistLineSchema, "The line, head first"), ...problems(401, 403, 503) },
});
