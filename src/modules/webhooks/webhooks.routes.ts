import { createRoute, z } from "@hono/zod-openapi";
import { adminOnly } from "../../http/auth";
import { problems } from "../../http/openapi";
import { idParam, jsonContent, pagedJsonContent } from "../../http/router";
import {
  DeliveriesQuery,
  DeliverySchema,
  PageQuery,
  RotatedSecretSchema,
  WebhookCreateSchema,
  WebhookSchema,
  WebhookUpdateSchema,
  WebhookWithSecretSchema,
} from "./webhooks.schemas";

const tags = ["Webhooks"];
const IdParams = z.object({ id: idParam("id") });
const DeliveryParams = z.object({ id: idParam("id"), delivery_id: idParam("delivery_id") });

const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: { "application/json": { schema } } },
});

export const createWebhookRoute = createRoute({
  method: "post",
  path: "/webhooks",
  operationId: "createWebhook",
  summary: "Subscribe a URL to event types (admin)",
  description:
    "The answer carries the signing secret, shown this once. URLs that are not http(s) or that resolve to loopback, private, link-local, CGNAT or metadata addresses are refused (422 WEBHOOK_URL_REFUSED), as are unknown event types (422).",
  tags,
  ...adminOnly(),
  request: jsonBody(WebhookCreateSchema),
  responses: { 201: jsonContent(WebhookWithSecretSchema, "The subscription and its secret"), ...problems(401, 403) },
});

export const listWebhooksRoute = createRoute({
  method: "get",
  path: "/webhooks",
  operationId: "listWebhooks",
  summary: "List webhook subscriptions (admin)",
  tags,
  ...adminOnly(),
  request: { query: PageQuery },
  responses: { 200: pagedJsonContent(WebhookSchema, "Subscriptions by id"), ...problems(401, 403) },
});

export const getWebhookRoute = createRoute({
  method: "get",
  path: "/webhooks/{id}",
  operationId: "getWebhook",
  summary: "One webhook subscription (admin)",
  tags,
  ...adminOnly(),
  request: { params: IdParams },
  responses: { 200: jsonContent(WebhookSchema, "The subscription"), ...problems(401, 403, 404) },
});

export const updateWebhookRoute = createRoute({
  method: "patch",
  path: "/webhooks/{id}",
  operationId: "updateWebhook",
  summary: "Change a webhook subscription (admin)",
  description: "Partial update. `active: false` stops deliveries; `active: true` resumes them and clears the reason.",
  tags,
  ...adminOnly(),
  request: { params: IdParams, ...jsonBody(WebhookUpdateSchema) },
  responses: { 200: jsonContent(WebhookSchema, "The updated subscription"), ...problems(401, 403, 404) },
});

export const deleteWebhookRoute = createRoute({
  method: "delete",
  path: "/webhooks/{id}",
  operationId: "deleteWebhook",
  summary: "Delete a webhook subscription (admin)",
  tags,
  ...adminOnly(),
  request: { params: IdParams },
  responses: { 204: { description: "Deleted, with its deliveries" }, ...problems(401, 403, 404) },
});

export const rotateSecretRoute = createRoute({
  method: "post",
  path: "/webhooks/{id}/rotate-secret",
  operationId: "rotateWebhookSecret",
  summary: "Replace a webhook's signing secret (admin)",
  description:
    "The new secret is shown this once. Until `previous_secret_expires_at` (WEBHOOK_SECRET_GRACE_SECONDS) every delivery carries two signatures, one per secret.",
  tags,
  ...adminOnly(),
  request: { params: IdParams },
  responses: { 200: jsonContent(RotatedSecretSchema, "The new secret"), ...problems(401, 403, 404) },
});

export const listDeliveriesRoute = createRoute({
  method: "get",
  path: "/webhooks/{id}/deliveries",
  operationId: "listWebhookDeliveries",
  summary: "A webhook's deliveries, newest first (admin)",
  tags,
  ...adminOnly(),
  request: { params: IdParams, query: DeliveriesQuery },
  responses: { 200: pagedJsonContent(DeliverySchema, "Deliveries, newest first"), ...problems(401, 403, 404) },
});

export const redeliverRoute = createRoute({
  method: "post",
  path: "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
  operationId: "redeliverWebhook",
  summary: "Send a delivery again (admin)",
  description: "Same body and `webhook-id`, a fresh retry window; sent by the dispatcher within a poll interval.",
  tags,
  ...adminOnly(),
  request: { params: DeliveryParams },
  responses: { 202: jsonContent(DeliverySchema, "The delivery, due now"), ...problems(401, 403, 404, 409) },
});
