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
-- Hand-written (drizzle cannot express triggers): booking.created domain events. A statement-level
-- AFTER INSERT trigger on bookings writes one `domain.events` outbox row per new BOOKED booking in
-- the booking's own transaction (never lost between COMMIT and delivery), whichever path inserted
-- it (book_seats, a hold's confirm, an offer's accept), and only when an active subscription wants
-- booking.created: one probe of webhook_subscriptions_active_events_idx (partial GIN, a handful of
-- rows), planned as an index scan whatever the table held (enable_seqscan = off). A flash sale
-- without subscribers pays that probe once per statement and writes nothing. Being a trigger, it
-- does not depend on the body of book_seats, which other migrations replace.
CREATE OR REPLACE FUNCTION bookings_domain_events() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM webhook_subscriptions
              WHERE disabled_at IS NULL AND events @> ARRAY['booking.created']) THEN
    INSERT INTO outbox (stream, payload)
    SELECT 'domain.events', jsonb_build_object(
             'type', 'booking.created',
             'event_id', n.event_id,
             'occurred_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
             'data', jsonb_build_object(
               'booking_id', n.id, 'event_id', n.event_id, 'user_id', n.user_id,
               'seat_number', n.seat_number, 'status', 'BOOKED', 'venue', e.venue,
               'event_name', e.name,
               'created_at', to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'cancelled_at', NULL))
      FROM new_bookings n JOIN events e ON e.id = n.event_id
     WHERE n.status = 'BOOKED'
     ORDER BY n.id;
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER bookings_domain_events AFTER INSERT ON bookings
  REFERENCING NEW TABLE AS new_bookings
  FOR EACH STATEMENT EXECUTE FUNCTION bookings_domain_events();
