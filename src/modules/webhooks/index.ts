import { createRouter } from "../../http/router";
import * as handlers from "./webhooks.handlers";
import * as routes from "./webhooks.routes";

export const webhooksRouter = createRouter()
  .openapi(routes.createWebhookRoute, handlers.handleCreate)
  .openapi(routes.listWebhooksRoute, handlers.handleList)
  .openapi(routes.getWebhookRoute, handlers.handleGet)
  .openapi(routes.updateWebhookRoute, handlers.handleUpdate)
  .openapi(routes.deleteWebhookRoute, handlers.handleDelete)
  .openapi(routes.rotateSecretRoute, handlers.handleRotate)
  .openapi(routes.listDeliveriesRoute, handlers.handleListDeliveries)
  .openapi(routes.redeliverRoute, handlers.handleRedeliver);
