import { z } from "@hono/zod-openapi";
import { DOMAIN_EVENT_TYPES } from "../../messaging/catalog";
import type { DeliveryRow, PublicSubscriptionRow } from "./webhooks.repo";

export const EventTypeSchema = z.enum(DOMAIN_EVENT_TYPES).openapi("WebhookEventType");

const EventTypesSchema = z
  .array(EventTypeSchema)
  .min(1)
  .max(DOMAIN_EVENT_TYPES.length)
  .refine((types) => new Set(types).size === types.length, "must not repeat an event type");

const UrlSchema = z
  .string()
  .trim()
  .max(2048)
  .pipe(z.url())
  .openapi({ example: "https://crm.example.com/hooks/evently" });

export const WebhookCreateSchema = z
  .object({
    url: UrlSchema,
    events: EventTypesSchema,
    description: z.string().trim().max(500).nullish(),
  })
  .openapi("WebhookCreate");
export type WebhookCreate = z.output<typeof WebhookCreateSchema>;

export const WebhookUpdateSchema = z
  .object({
    url: UrlSchema.optional(),
    events: EventTypesSchema.optional(),
    description: z.string().trim().max(500).nullish(),
    /** false disables the subscription; true re-enables it (and forgets why it was disabled). */
    active: z.boolean().optional(),
  })
  .openapi("WebhookUpdate");
export type WebhookUpdate = z.output<typeof WebhookUpdateSchema>;

export const WebhookSchema = z
  .object({
    id: z.number().int(),
    url: z.string(),
    events: z.array(EventTypeSchema),
    description: z.string().nullable(),
    active: z.boolean(),
    disabled_at: z.string().nullable(),
    disabled_reason: z.string().nullable().openapi({ description: "Why deliveries stopped, when they did" }),
    failing_since: z.string().nullable(),
    previous_secret_expires_at: z
      .string()
      .nullable()
      .openapi({ description: "Until then deliveries carry a signature with the previous secret too" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Webhook");
export type WebhookDto = z.infer<typeof WebhookSchema>;

export const WebhookWithSecretSchema = WebhookSchema.extend({
  secret: z.string().openapi({
    description: "The signing secret (`whsec_` + base64). Shown in this answer only.",
    example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
  }),
}).openapi("WebhookWithSecret");
export type WebhookWithSecretDto = z.infer<typeof WebhookWithSecretSchema>;

export const DeliveryStatusSchema = z.enum(["PENDING", "SUCCEEDED", "FAILED"]);

export const DeliverySchema = z
  .object({
    id: z.number().int(),
    webhook_id: z.number().int(),
    message_id: z.string().openapi({ description: "The `webhook-id` header: the same on every attempt" }),
    event_type: EventTypeSchema,
    status: DeliveryStatusSchema,
    attempts: z.number().int(),
    last_attempt_at: z.string().nullable(),
    last_response_code: z.number().int().nullable(),
    last_response_body: z.string().nullable().openapi({ description: "The first 1 KiB of the last answer" }),
    last_error: z.string().nullable(),
    next_attempt_at: z.string().nullable(),
    give_up_at: z.string(),
    delivered_at: z.string().nullable(),
    created_at: z.string(),
    payload: z.record(z.string(), z.unknown()).openapi({ description: "The JSON body sent" }),
  })
  .openapi("WebhookDelivery");
export type DeliveryDto = z.infer<typeof DeliverySchema>;

export const RotatedSecretSchema = z
  .object({
    id: z.number().int(),
    secret: z.string().openapi({ description: "The new signing secret. Shown in this answer only." }),
    previous_secret_expires_at: z.string().nullable(),
  })
  .openapi("WebhookRotatedSecret");

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});

export const DeliveriesQuery = PageQuery.extend({ status: DeliveryStatusSchema.optional() });

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const messageId = (deliveryId: number) => `msg_${deliveryId}`;

export function toWebhookDto(row: PublicSubscriptionRow, now = new Date()): WebhookDto {
  const graceOpen = row.previousSecretExpiresAt !== null && row.previousSecretExpiresAt > now;
  return {
    id: row.id,
    url: row.url,
    events: row.events as WebhookDto["events"],
    description: row.description,
    active: row.disabledAt === null,
    disabled_at: iso(row.disabledAt),
    disabled_reason: row.disabledReason,
    failing_since: iso(row.failingSince),
    previous_secret_expires_at: graceOpen ? iso(row.previousSecretExpiresAt) : null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function toDeliveryDto(row: DeliveryRow): DeliveryDto {
  return {
    id: row.id,
    webhook_id: row.subscriptionId,
    message_id: messageId(row.id),
    event_type: row.eventType as DeliveryDto["event_type"],
    status: row.status,
    attempts: row.attempts,
    last_attempt_at: iso(row.lastAttemptAt),
    last_response_code: row.lastResponseCode,
    last_response_body: row.lastResponseBody,
    last_error: row.lastError,
    next_attempt_at: row.status === "PENDING" ? row.nextAttemptAt.toISOString() : null,
    give_up_at: row.giveUpAt.toISOString(),
    delivered_at: iso(row.deliveredAt),
    created_at: row.createdAt.toISOString(),
    payload: JSON.parse(row.body) as Record<string, unknown>,
  };
}
