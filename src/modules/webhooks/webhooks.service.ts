import { config } from "../../config";
import type { AuthUser } from "../../domain/auth-user";
import { DomainError, ErrorCode } from "../../domain/errors";
import { sql } from "../../platform/db";
import * as repo from "./webhooks.repo";
import {
  type DeliveryDto,
  toDeliveryDto,
  toWebhookDto,
  type WebhookCreate,
  type WebhookDto,
  type WebhookUpdate,
  type WebhookWithSecretDto,
} from "./webhooks.schemas";
import { newSigningSecret } from "./webhooks.signing";
import { checkWebhookUrl } from "./webhooks.url-guard";

/** The admin API's rules for webhook subscriptions (docs/webhooks.md). */

const webhookNotFound = (id: number) => new DomainError(ErrorCode.WEBHOOK_NOT_FOUND, `Webhook ${id} does not exist.`);

/** Refuses URLs that are not http(s) or that reach a non-public address (the SSRF rule). */
async function acceptableUrl(raw: string): Promise<string> {
  const verdict = await checkWebhookUrl(raw, config.WEBHOOK_ALLOW_PRIVATE);
  if (!verdict.ok) {
    throw new DomainError(ErrorCode.WEBHOOK_URL_REFUSED, `The webhook URL ${verdict.reason}.`, {
      errors: [{ field: "json.url", message: verdict.reason }],
    });
  }
  return verdict.url.toString();
}

export async function createWebhook(actor: AuthUser, input: WebhookCreate): Promise<WebhookWithSecretDto> {
  const url = await acceptableUrl(input.url);
  const secret = newSigningSecret();
  const row = await repo.insertSubscription(sql, {
    url,
    events: input.events,
    description: input.description ?? null,
    secret,
    createdBy: actor.id,
  });
  return { ...toWebhookDto(row), secret };
}

export async function listWebhooks(limit: number, offset: number): Promise<{ webhooks: WebhookDto[]; total: number }> {
  const { rows, total } = await repo.listSubscriptions(sql, limit, offset);
  return { webhooks: rows.map((r) => toWebhookDto(r)), total };
}

export async function getWebhook(id: number): Promise<WebhookDto> {
  const row = await repo.findSubscription(sql, id);
  if (!row) throw webhookNotFound(id);
  return toWebhookDto(row);
}

export async function updateWebhook(actor: AuthUser, id: number, changes: WebhookUpdate): Promise<WebhookDto> {
  const url = changes.url !== undefined ? await acceptableUrl(changes.url) : undefined;
  const row = await repo.updateSubscription(sql, id, {
    url,
    events: changes.events,
    description: changes.description,
    active: changes.active,
    disabledReason: `disabled by admin ${actor.id}`,
  });
  if (!row) throw webhookNotFound(id);
  return toWebhookDto(row);
}

/** Deletes the subscription and its delivery history; nothing more is sent to it. */
export async function deleteWebhook(id: number): Promise<void> {
  if (!(await repo.deleteSubscription(sql, id))) throw webhookNotFound(id);
}

/**
 * A new signing secret, shown once. Until WEBHOOK_SECRET_GRACE_SECONDS from now deliveries carry
 * a second signature made with the previous secret, so receivers can switch without losing any.
 */
export async function rotateWebhookSecret(id: number) {
  const secret = newSigningSecret();
  const row = await repo.rotateSecret(sql, id, secret, config.WEBHOOK_SECRET_GRACE_SECONDS);
  if (!row) throw webhookNotFound(id);
  return { id, secret, previous_secret_expires_at: toWebhookDto(row).previous_secret_expires_at };
}

export async function listWebhookDeliveries(
  id: number,
  page: { limit: number; offset: number; status?: DeliveryDto["status"] },
): Promise<{ deliveries: DeliveryDto[]; total: number }> {
  if (!(await repo.findSubscription(sql, id))) throw webhookNotFound(id);
  const { rows, total } = await repo.listDeliveries(sql, id, page);
  return { deliveries: rows.map(toDeliveryDto), total };
}

/** Sends a delivery again (same webhook-id and body), with a fresh retry window. */
export async function redeliver(id: number, deliveryId: number): Promise<DeliveryDto> {
  const sub = await repo.findSubscription(sql, id);
  if (!sub) throw webhookNotFound(id);
  if (sub.disabledAt !== null) {
    throw new DomainError(
      ErrorCode.WEBHOOK_DISABLED,
      `Webhook ${id} is disabled (${sub.disabledReason ?? "no reason recorded"}); enable it with PATCH {"active": true} first.`,
    );
  }
  const row = await repo.scheduleRedelivery(sql, id, deliveryId, config.WEBHOOK_RETRY_WINDOW_SECONDS);
  if (!row) {
    throw new DomainError(ErrorCode.WEBHOOK_DELIVERY_NOT_FOUND, `Webhook ${id} has no delivery ${deliveryId}.`);
  }
  return toDeliveryDto(row);
}
