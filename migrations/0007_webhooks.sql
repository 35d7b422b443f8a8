CREATE TYPE "public"."webhook_delivery_status" AS ENUM('PENDING', 'SUCCEEDED', 'FAILED');--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"subscription_id" bigint NOT NULL,
	"outbox_id" bigint NOT NULL,
	"event_type" text NOT NULL,
	"body" text NOT NULL,
	"status" "webhook_delivery_status" DEFAULT 'PENDING' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"give_up_at" timestamp with time zone NOT NULL,
	"last_attempt_at" timestamp with time zone,
	"last_response_code" integer,
	"last_response_body" text,
	"last_error" text,
	"delivered_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_subscriptions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"events" text[] NOT NULL,
	"description" text,
	"secret" text NOT NULL,
	"previous_secret" text,
	"previous_secret_expires_at" timestamp with time zone,
	"created_by" bigint,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"failing_since" timestamp with time zone,
	"disabled_at" timestamp with time zone,
	"disabled_reason" text
);
--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_subscription_id_webhook_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."webhook_subscriptions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_subscriptions" ADD CONSTRAINT "webhook_subscriptions_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_deliveries_subscription_outbox_key" ON "webhook_deliveries" USING btree ("subscription_id","outbox_id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" USING btree ("next_attempt_at") WHERE "webhook_deliveries"."status" = 'PENDING';--> statement-breakpoint
CREATE INDEX "webhook_deliveries_subscription_idx" ON "webhook_deliveries" USING btree ("subscription_id","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_finished_idx" ON "webhook_deliveries" USING btree ("created_at") WHERE "webhook_deliveries"."status" <> 'PENDING';--> statement-breakpoint
CREATE INDEX "webhook_subscriptions_active_events_idx" ON "webhook_subscriptions" USING gin ("events") WHERE "webhook_subscriptions"."disabled_at" is null;
--> statement-breakpoint
-- Hand-written (drizzle cannot express functions): book_seats as in 0003, plus one step before it
-- answers OK. When an active webhook subscription wants booking.created, it writes one
-- `domain.events` outbox row per booking in the booking's own transaction (never lost between
-- COMMIT and delivery). The check is one probe of webhook_subscriptions_active_events_idx (partial
-- GIN, a handful of rows), planned as an index scan whatever the table held (enable_seqscan = off),
-- so a flash sale without subscribers pays one index probe per booking and writes nothing.
-- Everything else is identical to 0003.
CREATE OR REPLACE FUNCTION book_seats(
  p_user bigint, p_event bigint, p_seat_numbers int[], p_quantity int, p_max_per_user int
) RETURNS jsonb
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
  v_event record;
  v_ids bigint[];
  v_numbers int[];
  v_statuses seat_status[];
  v_holders bigint[];
  v_wanted int := coalesce(cardinality(p_seat_numbers), p_quantity);
  v_found int;
  v_refused int[];
  v_user_booked int;
  v_bookings jsonb;
BEGIN
  PERFORM pg_advisory_xact_lock((p_user % 2147483647)::int4, (p_event % 2147483647)::int4);
  IF p_seat_numbers IS NOT NULL THEN
    SELECT array_agg(id ORDER BY seat_number), array_agg(seat_number ORDER BY seat_number),
           array_agg(status ORDER BY seat_number), array_agg(held_by ORDER BY seat_number)
      INTO v_ids, v_numbers, v_statuses, v_holders
      FROM (SELECT id, seat_number, status, held_by FROM seats
             WHERE event_id = p_event AND seat_number = ANY (p_seat_numbers)
             ORDER BY seat_number FOR UPDATE) locked;
  ELSE
    SELECT array_agg(id ORDER BY seat_number), array_agg(seat_number ORDER BY seat_number),
           array_agg(status ORDER BY seat_number), array_agg(held_by ORDER BY seat_number)
      INTO v_ids, v_numbers, v_statuses, v_holders
      FROM (SELECT id, seat_number, status, held_by FROM seats
             WHERE event_id = p_event AND status = 'AVAILABLE'
             ORDER BY seat_number LIMIT p_quantity FOR UPDATE SKIP LOCKED) locked;
  END IF;
  v_found := coalesce(cardinality(v_ids), 0);

  SELECT name, venue, start_time <= now() AS started, deleted_at IS NOT NULL AS deleted
    INTO v_event FROM events WHERE id = p_event;
  IF NOT FOUND OR v_event.deleted THEN
    RETURN jsonb_build_object('code', 'EVENT_NOT_FOUND');
  END IF;
  IF v_event.started THEN
    RETURN jsonb_build_object('code', 'EVENT_STARTED');
  END IF;
  IF p_seat_numbers IS NOT NULL AND v_found < cardinality(p_seat_numbers) THEN
    RETURN jsonb_build_object('code', 'SEAT_NOT_FOUND', 'seats',
      to_jsonb(ARRAY(SELECT n FROM unnest(p_seat_numbers) n
                      WHERE n <> ALL (coalesce(v_numbers, '{}')) ORDER BY n)));
  END IF;
  v_refused := ARRAY(SELECT v_numbers[i] FROM generate_series(1, v_found) i WHERE v_statuses[i] = 'BOOKED');
  IF cardinality(v_refused) > 0 THEN
    RETURN jsonb_build_object('code', 'SEAT_ALREADY_BOOKED', 'seats', to_jsonb(v_refused));
  END IF;
  -- A hold stays held, even past its end, until the janitor hands it over: only its holder books it.
  v_refused := ARRAY(SELECT v_numbers[i] FROM generate_series(1, v_found) i
                      WHERE v_statuses[i] = 'HELD' AND v_holders[i] IS DISTINCT FROM p_user);
  IF cardinality(v_refused) > 0 THEN
    RETURN jsonb_build_object('code', 'SEAT_HELD', 'seats', to_jsonb(v_refused));
  END IF;
  IF v_found < v_wanted THEN
    RETURN jsonb_build_object('code', 'NOT_ENOUGH_SEATS', 'free', v_found, 'wanted', v_wanted);
  END IF;
  SELECT count(*) INTO v_user_booked FROM bookings
   WHERE event_id = p_event AND user_id = p_user AND status = 'BOOKED';
  IF v_user_booked + v_wanted > p_max_per_user THEN
    RETURN jsonb_build_object('code', 'USER_SEAT_LIMIT', 'booked', v_user_booked, 'max', p_max_per_user);
  END IF;

  WITH marked AS (
    UPDATE seats SET status = 'BOOKED', held_by = NULL, hold_expires_at = NULL
     WHERE id = ANY (v_ids)
    RETURNING id, seat_number),
  made AS (
    INSERT INTO bookings (user_id, event_id, seat_id, seat_number, status)
    SELECT p_user, p_event, id, seat_number, 'BOOKED' FROM marked ORDER BY seat_number
    RETURNING id, seat_number, created_at)
  SELECT jsonb_agg(jsonb_build_object('booking_id', id, 'seat_number', seat_number, 'created_at', created_at)
                   ORDER BY seat_number)
    INTO v_bookings FROM made;
  -- Webhooks: one booking.created domain event per booking, in this transaction, only when an
  -- active subscription wants that type: one probe of a tiny partial GIN index.
  IF EXISTS (SELECT 1 FROM webhook_subscriptions
              WHERE disabled_at IS NULL AND events @> ARRAY['booking.created']) THEN
    INSERT INTO outbox (stream, payload)
    SELECT 'domain.events', jsonb_build_object(
             'type', 'booking.created',
             'event_id', p_event,
             'occurred_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'data', jsonb_build_object(
               'booking_id', b -> 'booking_id', 'event_id', p_event, 'user_id', p_user,
               'seat_number', b -> 'seat_number', 'status', 'BOOKED', 'venue', v_event.venue,
               'event_name', v_event.name,
               'created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'cancelled_at', NULL))
      FROM jsonb_array_elements(v_bookings) b;
  END IF;
  RETURN jsonb_build_object('code', 'OK', 'bookings', v_bookings, 'event_name', v_event.name,
    'venue', v_event.venue,
    'accepted_offers', (SELECT count(*) FROM unnest(v_statuses) st WHERE st = 'HELD'));
END;
$$;
