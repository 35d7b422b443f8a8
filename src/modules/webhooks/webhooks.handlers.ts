import { currentUser } from "../../http/auth";
import type { AppRouteHandler } from "../../http/router";
import type * as routes from "./webhooks.routes";
import * as service from "./webhooks.service";

export const handleCreate: AppRouteHandler<typeof routes.createWebhookRoute> = async (c) => {
  return c.json(await service.createWebhook(currentUser(c), c.req.valid("json")), 201);
};

export const handleList: AppRouteHandler<typeof routes.listWebhooksRoute> = async (c) => {
  const { limit, offset } = c.req.valid("query");
  const { webhooks, total } = await service.listWebhooks(limit, offset);
  c.header("X-Total-Count", String(total));
  return c.json(webhooks, 200);
};

export const handleGet: AppRouteHandler<typeof routes.getWebhookRoute> = async (c) => {
  return c.json(await service.getWebhook(c.req.valid("param").id), 200);
};

export const handleUpdate: AppRouteHandler<typeof routes.updateWebhookRoute> = async (c) => {
  return c.json(await service.updateWebhook(currentUser(c), c.req.valid("param").id, c.req.valid("json")), 200);
};

export const handleDelete: AppRouteHandler<typeof routes.deleteWebhookRoute> = async (c) => {
  await service.deleteWebhook(c.req.valid("param").id);
  return c.body(null, 204);
};

export const handleRotate: AppRouteHandler<typeof routes.rotateSecretRoute> = async (c) => {
  return c.json(await service.rotateWebhookSecret(c.req.valid("param").id), 200);
};

export const handleListDeliveries: AppRouteHandler<typeof routes.listDeliveriesRoute> = async (c) => {
  const { deliveries, total } = await service.listWebhookDeliveries(c.req.valid("param").id, c.req.valid("query"));
  c.header("X-Total-Count", String(total));
  return c.json(deliveries, 200);
};

export const handleRedeliver: AppRouteHandler<typeof routes.redeliverRoute> = async (c) => {
  const { id, delivery_id } = c.req.valid("param");
  return c.json(await service.redeliver(id, delivery_id), 202);
};
