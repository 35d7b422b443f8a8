import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly, authed } from "../../http/auth";
import { problems } from "../../http/openapi";
import { idParam, jsonContent } from "../../http/router";
import {
  AcceptedOfferSchema,
  JoinWaitlistRequestSchema,
  WaitlistEntrySchema,
  WaitlistLineSchema,
  WaitlistOfferListSchema,
  WaitlistOfferSchema,
} from "./waitlist.schemas";

const tags = ["Waitlist"];
const params = z.object({ event_id: idParam("event_id") });

export const joinRoute = createRoute({
  method: "post",
  path: "/waitlist/{event_id}",
  operationId: "joinWaitlist",
  summary: "Join a sold-out event's waitlist",
  tags,
  description:
    "Joins the waitlist of a sold-out event (201) with a party of `party_size` seats (default 1; the body may be left out); joining again keeps the first place and party size (200). An event with fewer free seats than the party may be joined. Freed seats go to the line as timed offers (`GET /waitlist/offers`): a party gets all its seats at once, adjacent when possible; until it fits, freed seats gather for the head of the line. docs/waitlist.md.",
  ...authed(),
  request: {
    params,
    body: { required: false, content: { "application/json": { schema: JoinWaitlistRequestSchema } } },
  },
  responses: {
    201: jsonContent(WaitlistEntrySchema, "Joined"),
    200: jsonContent(WaitlistEntrySchema, "Already on the list: the first position is kept"),
    ...problems(400, 401, 404, 409, 422, 503),
  },
});

export const positionRoute = createRoute({
  method: "get",
  path: "/waitlist/{event_id}",
  operationId: "getWaitlistPosition",
  summary: "The caller's place on a waitlist, with an estimated wait",
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

const offerParams = z.object({ offer_id: idParam("offer_id") });

export const myOffersRoute = createRoute({
  method: "get",
  path: "/waitlist/offers",
  operationId: "listMyWaitlistOffers",
  summary: "The caller's waitlist offers, newest first",
  tags,
  description:
    "Offers made to the caller from waitlists: the seats held, until when, and what became of each (OFFERED, ACCEPTED, DECLINED, EXPIRED).",
  ...authed(),
  responses: { 200: jsonContent(WaitlistOfferListSchema, "The caller's offers"), ...problems(401) },
});

export const acceptOfferRoute = createRoute({
  method: "post",
  path: "/waitlist/offers/{offer_id}/accept",
  operationId: "acceptWaitlistOffer",
  summary: "Accept a waitlist offer: its seats become bookings",
  tags,
  description:
    "Books every seat of the offer in one transaction (201, the bookings). Someone else's offer answers 404; an offer past its expiry 409 OFFER_EXPIRED; one already answered 409 OFFER_ANSWERED. Booking an offered seat with POST /events/{id}/book/{seat} still works too.",
  ...authed(),
  request: { params: offerParams },
  responses: { 201: jsonContent(AcceptedOfferSchema, "Booked"), ...problems(401, 404, 409, 422) },
});

export const declineOfferRoute = createRoute({
  method: "post",
  path: "/waitlist/offers/{offer_id}/decline",
  operationId: "declineWaitlistOffer",
  summary: "Decline a waitlist offer: its seats go to the next in line at once",
  tags,
  ...authed(),
  request: { params: offerParams },
  responses: { 200: jsonContent(WaitlistOfferSchema, "Declined"), ...problems(401, 404, 409, 422) },
});
