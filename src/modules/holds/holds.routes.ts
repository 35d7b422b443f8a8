import { createRoute, z } from "@hono/zod-openapi";
import { authed } from "../../http/auth";
import { problems } from "../../http/openapi";
import { idParam, jsonContent } from "../../http/router";
import { IdempotencyHeaders, MultiBookingSchema } from "../bookings/bookings.schemas";
import { CreateHoldRequestSchema, HoldSchema, HoldTokenParams } from "./holds.schemas";

const tags = ["Holds"];

export const createHoldRoute = createRoute({
  method: "post",
  path: "/events/{id}/holds",
  operationId: "createHold",
  summary: "Hold seats for a checkout",
  tags,
  description:
    "Holds seats for the caller until `expires_at` (HOLD_TTL_SECONDS): `{seat_numbers}` all or nothing, or `{quantity}` best available, `together: true` for adjacent seats leaving no single seat stranded where another choice exists. Nobody else can book or hold them (409 SEAT_HELD). Counts against MAX_SEATS_PER_USER_PER_EVENT (409 USER_SEAT_LIMIT); at most MAX_HOLDS_PER_USER_PER_EVENT live holds per event (409 HOLD_LIMIT). Idempotency-Key honoured.",
  ...authed(),
  request: {
    params: z.object({ id: idParam("id") }),
    headers: IdempotencyHeaders,
    body: { required: true, content: { "application/json": { schema: CreateHoldRequestSchema } } },
  },
  responses: { 201: jsonContent(HoldSchema, "The hold"), ...problems(401, 404, 409) },
});

export const getHoldRoute = createRoute({
  method: "get",
  path: "/holds/{token}",
  operationId: "getHold",
  summary: "One hold",
  tags,
  description: "The hold (owner or admin; anyone else gets 404 HOLD_NOT_FOUND). Past `expires_at` it reads EXPIRED.",
  ...authed(),
  request: { params: HoldTokenParams },
  responses: { 200: jsonContent(HoldSchema, "The hold"), ...problems(401, 404) },
});

export const extendHoldRoute = createRoute({
  method: "patch",
  path: "/holds/{token}",
  operationId: "extendHold",
  summary: "Extend a hold",
  tags,
  description:
    "Moves `expires_at` on by HOLD_TTL_SECONDS, never past HOLD_MAX_LIFETIME_SECONDS from creation, at most HOLD_MAX_EXTENSIONS times (409 HOLD_EXTENSION_LIMIT). 409 HOLD_EXPIRED once it has expired.",
  ...authed(),
  request: { params: HoldTokenParams },
  responses: { 200: jsonContent(HoldSchema, "The extended hold"), ...problems(401, 404, 409) },
});

export const releaseHoldRoute = createRoute({
  method: "delete",
  path: "/holds/{token}",
  operationId: "releaseHold",
  summary: "Release a hold",
  tags,
  description:
    "Releases the seats at once (to the head of the waitlist, or back on sale). A hold that already ended is left as it is (204); a confirmed one answers 409 HOLD_NOT_ACTIVE.",
  ...authed(),
  request: { params: HoldTokenParams },
  responses: { 204: { description: "Released" }, ...problems(401, 404, 409) },
});

export const confirmHoldRoute = createRoute({
  method: "post",
  path: "/holds/{token}/confirm",
  operationId: "confirmHold",
  summary: "Confirm a hold into bookings",
  tags,
  description:
    "Books the held seats for the hold's owner (201). Idempotent: confirming again answers the same bookings. 409 HOLD_EXPIRED past `expires_at`, 409 HOLD_NOT_ACTIVE once released.",
  ...authed(),
  request: { params: HoldTokenParams },
  responses: { 201: jsonContent(MultiBookingSchema, "The bookings"), ...problems(401, 404, 409) },
});
