import type { webhookDeliveries, webhookSubscriptions } from "../../db/schema-messaging";
import type { Executor, Tx } from "../../platform/db";

/** SQL of webhook subscriptions and their deliveries; every function runs on the caller's executor. */

export type SubscriptionRow = typeof webhookSubscriptions.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
/** A subscription as the API shows it: everything but the secrets. */
export type PublicSubscriptionRow = Omit<SubscriptionRow, "secret" | "previousSecret">;

const PUBLIC_COLUMNS = [
  "id",
  "url",
  "events",
  "description",
  "previous_secret_expires_at",
  "created_by",
  "created_at",
  "updated_at",
  "failing_since",
  "disabled_at",
  "disabled_reason",
];

export async function insertSubscription(
  ex: Executor,
  row: { url: string; events: string[]; description: string | null; secret: string; createdBy: number },
): Promise<PublicSubscriptionRow> {
  const [created] = await ex<PublicSubscriptionRow[]>`
    insert into webhook_subscriptions (url, events, description, secret, created_by)
    values (${row.url}, ${row.events}, ${row.description}, ${row.secret}, ${row.createdBy})
    returning ${ex(PUBLIC_COLUMNS)}`;
  if (!created) throw new Error("insert returned nothing");
  return created;
}

export async function findSubscription(ex: Executor, id: number): Promise<PublicSubscriptionRow | undefined> {
  const [row] = await ex<PublicSubscriptionRow[]>`
    select ${ex(PUBLIC_COLUMNS)} from webhook_subscriptions where id = ${id}`;
  return row;
}

export async function listSubscriptions(
  ex: Executor,
  limit: number,
  offset: number,
): Promise<{ rows: PublicSubscriptionRow[]; total: number }> {
  const [rows, [totals]] = await Promise.all([
    ex<PublicSubscriptionRow[]>`
      select ${ex(PUBLIC_COLUMNS)} from webhook_subscriptions order by id limit ${limit} offset ${offset}`,
    ex<{ total: number }[]>`select count(*)::int as total from webhook_subscriptions`,
  ]);
  return { rows: [...rows], total: totals?.total ?? 0 };
}

export interface SubscriptionChanges {
  url?: string;
  events?: string[];
  description?: string | null;
  /** true: enabled again (reason and failure clock cleared); false: disabled with `disabledReason`. */
  active?: boolean;
  disabledReason?: string;
}

export async function updateSubscription(
  tx: Executor,
  id: number,
  changes: SubscriptionChanges,
): Promise<PublicSubscriptionRow | undefined> {
  const hasDescription = changes.description !== undefined;
  const [row] = await tx<PublicSubscriptionRow[]>`
    update webhook_subscriptions set
      url = coalesce(${changes.url ?? null}::text, url),
      events = coalesce(${changes.events ?? null}::text[], events),
      description = case when ${hasDescription} then ${changes.description ?? null}::text else description end,
      disabled_at = case when ${changes.active ?? null}::boolean is null then disabled_at
                         when ${changes.active ?? null}::boolean then null
                         else coalesce(disabled_at, now()) end,
      disabled_reason = case when ${changes.active ?? null}::boolean is null then disabled_reason
                             when ${changes.active ?? null}::boolean then null
                             else coalesce(disabled_reason, ${changes.disabledReason ?? null}) end,
      failing_since = case when ${changes.active ?? null}::boolean then null else failing_since end,
      updated_at = now()
    where id = ${id}
    returning ${tx(PUBLIC_COLUMNS)}`;
  return row;
}

export async function deleteSubscription(ex: Executor, id: number): Promise<boolean> {
  const rows = await ex`delete from webhook_subscriptions where id = ${id} returning id`;
  return rows.length > 0;
}

/** The new secret signs from now on; the old one keeps signing until `graceSeconds` from now. */
export async function rotateSecret(
  ex: Executor,
  id: number,
  secret: string,
  graceSeconds: number,
): Promise<PublicSubscriptionRow | undefined> {
  const [row] = await ex<PublicSubscriptionRow[]>`
    update webhook_subscriptions set
      previous_secret = secret,
      previous_secret_expires_at = now() + make_interval(secs => ${graceSeconds}),
      secret = ${secret},
      updated_at = now()
    where id = ${id}
    returning ${ex(PUBLIC_COLUMNS)}`;
  return row;
}

export async function listDeliveries(
  ex: Executor,
  subscriptionId: number,
  page: { limit: number; offset: number; status?: DeliveryRow["status"] },
): Promise<{ rows: DeliveryRow[]; total: number }> {
  const status = page.status ?? null;
  const [rows, [totals]] = await Promise.all([
    ex<DeliveryRow[]>`
      select * from webhook_deliveries
      where subscription_id = ${subscriptionId} and (${status}::webhook_delivery_status is null or status = ${status})
      order by id desc limit ${page.limit} offset ${page.offset}`,
    ex<{ total: number }[]>`
      select count(*)::int as total from webhook_deliveries
      where subscription_id = ${subscriptionId} and (${status}::webhook_delivery_status is null or status = ${status})`,
  ]);
  return { rows: [...rows], total: totals?.total ?? 0 };
}

/** Sends the delivery again as soon as a dispatcher looks, with a fresh retry window. */
export async function scheduleRedelivery(
  ex: Executor,
  subscriptionId: number,
  deliveryId: number,
  windowSeconds: number,
): Promise<DeliveryRow | undefined> {
  const [row] = await ex<DeliveryRow[]>`
    update webhook_deliveries set
      status = 'PENDING', next_attempt_at = now(),
      give_up_at = now() + make_interval(secs => ${windowSeconds})
    where id = ${deliveryId} and subscription_id = ${subscriptionId}
    returning *`;
  return row;
}

// ---- the dispatcher's side ----

/**
 * One delivery per active subscription that wants `type`, for one outbox entry. A redelivered
 * stream entry inserts nothing new (unique on subscription and outbox id). Returns how many were made.
 */
export async function insertDeliveries(
  ex: Executor,
  entry: { outboxId: number; type: string; body: string; windowSeconds: number },
): Promise<number> {
  const rows = await ex`
    insert into webhook_deliveries (subscription_id, outbox_id, event_type, body, give_up_at)
    select id, ${entry.outboxId}, ${entry.type}, ${entry.body}, now() + make_interval(secs => ${entry.windowSeconds})
    from webhook_subscriptions
    where disabled_at is null and events @> array[${entry.type}]::text[]
    on conflict (subscription_id, outbox_id) do nothing
    returning id`;
  return rows.length;
}

/** A delivery claimed for one attempt, with what it takes to sign and send it. */
export type ClaimedDelivery = Pick<DeliveryRow, "id" | "subscriptionId" | "body" | "attempts" | "giveUpAt"> &
  Pick<SubscriptionRow, "url" | "secret" | "previousSecret" | "previousSecretExpiresAt">;

/**
 * Claims up to `limit` due deliveries of active subscriptions (SKIP LOCKED: dispatchers split the
 * work) and leases them: next_attempt_at moves `leaseMs` ahead, so a dispatcher killed mid-attempt
 * leaves a delivery that any dispatcher retries once the lease is over. The attempt is counted now.
 */
export async function claimDueDeliveries(ex: Executor, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const rows = await ex<ClaimedDelivery[]>`
    with due as (
      select d.id from webhook_deliveries d
      join webhook_subscriptions s on s.id = d.subscription_id and s.disabled_at is null
      where d.status = 'PENDING' and d.next_attempt_at <= now()
      order by d.next_attempt_at
      limit ${limit}
      for update of d skip locked)
    update webhook_deliveries d set
      attempts = d.attempts + 1,
      next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
    from due, webhook_subscriptions s
    where d.id = due.id and s.id = d.subscription_id
    returning d.id, d.subscription_id, d.body, d.attempts, d.give_up_at,
              s.url, s.secret, s.previous_secret, s.previous_secret_expires_at`;
  return [...rows];
}

export interface AttemptRecord {
  responseCode: number | null;
  responseBody: string | null;
  error: string | null;
}

export async function recordSuccess(tx: Tx, d: { id: number; subscriptionId: number }, a: AttemptRecord) {
  await tx`
    update webhook_deliveries set status = 'SUCCEEDED', delivered_at = now(), last_attempt_at = now(),
      last_response_code = ${a.responseCode}, last_response_body = ${a.responseBody}, last_error = null
    where id = ${d.id}`;
  await tx`update webhook_subscriptions set failing_since = null where id = ${d.subscriptionId} and failing_since is not null`;
}

/**
 * A failed attempt: retried after `retryInMs` unless that is past the delivery's window (then
 * FAILED). Starts the subscription's failure clock; returns since when it has been failing.
 */
export async function recordFailure(
  tx: Tx,
  d: { id: number; subscriptionId: number },
  a: AttemptRecord,
  retryInMs: number,
): Promise<{ status: DeliveryRow["status"]; failingSince: Date | undefined }> {
  const [delivery] = await tx<Pick<DeliveryRow, "status">[]>`
    update webhook_deliveries set
      last_attempt_at = now(), last_response_code = ${a.responseCode}, last_response_body = ${a.responseBody},
      last_error = ${a.error},
      next_attempt_at = now() + make_interval(secs => ${retryInMs / 1000}),
      status = case when now() + make_interval(secs => ${retryInMs / 1000}) > give_up_at
                    then 'FAILED'::webhook_delivery_status else 'PENDING'::webhook_delivery_status end
    where id = ${d.id} and status = 'PENDING'
    returning status`;
  const [sub] = await tx<Pick<SubscriptionRow, "failingSince">[]>`
    update webhook_subscriptions set failing_since = coalesce(failing_since, now())
    where id = ${d.subscriptionId}
    returning failing_since`;
  return { status: delivery?.status ?? "FAILED", failingSince: sub?.failingSince ?? undefined };
}

/** Stops a subscription: no more deliveries, its pending ones FAILED with the reason. */
export async function disableSubscription(tx: Tx, subscriptionId: number, reason: string): Promise<boolean> {
  const rows = await tx`
    update webhook_subscriptions set disabled_at = now(), disabled_reason = ${reason}, updated_at = now()
    where id = ${subscriptionId} and disabled_at is null
    returning id`;
  await tx`
    update webhook_deliveries set status = 'FAILED', last_error = coalesce(last_error || '; ', '') || ${`not sent: ${reason}`}
    where subscription_id = ${subscriptionId} and status = 'PENDING'`;
  return rows.length > 0;
}

/** An attempt cut short by the dispatcher stopping: due again at once, the attempt not counted. */
export async function releaseDelivery(ex: Executor, id: number): Promise<void> {
  await ex`
    update webhook_deliveries set next_attempt_at = now(), attempts = greatest(attempts - 1, 0)
    where id = ${id} and status = 'PENDING'`;
}

/** Deletes up to `batch` finished deliveries older than `days`, oldest first; returns how many. */
export async function purgeFinishedDeliveries(ex: Executor, days: number, batch: number): Promise<number> {
  const rows = await ex`
    delete from webhook_deliveries where id in (
      select id from webhook_deliveries
      where status <> 'PENDING' and created_at < now() - make_interval(days => ${days})
      order by created_at limit ${batch})
    returning id`;
  return rows.length;
}
