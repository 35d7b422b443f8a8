import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  index,
  integer,
  json,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { createdAt, users } from "./schema";

/**
 * The tables behind messaging and delivery: the transactional outbox, Idempotency-Key records and
 * webhooks (subscriptions, deliveries). The domain's tables are in schema.ts; drizzle.config.ts
 * reads both files.
 */

/**
 * Transactional outbox: rows are written in the same transaction as the change they announce
 * and relayed to Redis streams afterwards, so no event is lost between COMMIT and XADD.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    stream: text("stream").notNull(),
    payload: jsonb("payload").notNull(),
    createdAt: createdAt(),
    publishedAt: timestamp("published_at", { withTimezone: true }),
    attempts: integer("attempts").notNull().default(0),
  },
  // The relay reads unpublished rows in id order; this partial index stays tiny.
  (t) => [index("outbox_unpublished_idx").on(t.id).where(sql`${t.publishedAt} is null`)],
);

/** Idempotency-Key records, per user; a replay returns the stored status and body. */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    userId: bigint("user_id", { mode: "number" })
      .notNull()
      .references(() => users.id),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    statusCode: integer("status_code").notNull(),
    // json, not jsonb: a replay must return the first answer byte for byte (jsonb reorders keys).
    responseBody: json("response_body").notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.key] }),
    // Expired keys are purged in batches by expiry.
    index("idempotency_keys_expires_idx").on(t.expiresAt),
  ],
);

/**
 * Webhook subscriptions (admin API, docs/webhooks.md). The signing secret is kept as given out
 * (`whsec_` + base64): deliveries are signed with it, so it cannot be stored as a hash. During a
 * rotation's grace period the previous secret signs too.
 */
export const webhookSubscriptions = pgTable(
  "webhook_subscriptions",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    url: text("url").notNull(),
    events: text("events").array().notNull(),
    description: text("description"),
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: timestamp("previous_secret_expires_at", { withTimezone: true }),
    createdBy: bigint("created_by", { mode: "number" }).references(() => users.id),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    // Set when deliveries keep failing for WEBHOOK_DISABLE_AFTER_SECONDS, cleared by a success.
    failingSince: timestamp("failing_since", { withTimezone: true }),
    // Disabled by the dispatcher (410 Gone, failing too long) or by an admin; the reason says which.
    disabledAt: timestamp("disabled_at", { withTimezone: true }),
    disabledReason: text("disabled_reason"),
  },
  (t) => [
    // "Does any active subscription want this event type?": book_seats asks it on every booking
    // (migrations/0007), and the dispatcher's fan-out selects by it.
    index("webhook_subscriptions_active_events_idx").using("gin", t.events).where(sql`${t.disabledAt} is null`),
  ],
);

export const webhookDeliveryStatus = pgEnum("webhook_delivery_status", ["PENDING", "SUCCEEDED", "FAILED"]);

/** One message to one subscription: created once per (subscription, outbox entry), retried in place. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    subscriptionId: bigint("subscription_id", { mode: "number" })
      .notNull()
      .references(() => webhookSubscriptions.id, { onDelete: "cascade" }),
    outboxId: bigint("outbox_id", { mode: "number" }).notNull(),
    eventType: text("event_type").notNull(),
    // The exact body sent on every attempt: retries and redeliveries sign the same bytes.
    body: text("body").notNull(),
    status: webhookDeliveryStatus("status").notNull().default("PENDING"),
    attempts: integer("attempts").notNull().default(0),
    // When the next attempt is due; while an attempt runs, the end of its lease.
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    // Retries stop after this (WEBHOOK_RETRY_WINDOW_SECONDS after creation or redelivery).
    giveUpAt: timestamp("give_up_at", { withTimezone: true }).notNull(),
    lastAttemptAt: timestamp("last_attempt_at", { withTimezone: true }),
    lastResponseCode: integer("last_response_code"),
    lastResponseBody: text("last_response_body"),
    lastError: text("last_error"),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    // Fan-out is idempotent: a redelivered stream entry finds its deliveries already made.
    uniqueIndex("webhook_deliveries_subscription_outbox_key").on(t.subscriptionId, t.outboxId),
    // The sender claims due deliveries in next_attempt_at order; only pending ones are indexed.
    index("webhook_deliveries_due_idx").on(t.nextAttemptAt).where(sql`${t.status} = 'PENDING'`),
    // A subscription's deliveries, newest first (GET /webhooks/{id}/deliveries).
    index("webhook_deliveries_subscription_idx").on(t.subscriptionId, t.id),
    // The dispatcher purges finished deliveries past their retention, oldest first.
    index("webhook_deliveries_finished_idx").on(t.createdAt).where(sql`${t.status} <> 'PENDING'`),
  ],
);
