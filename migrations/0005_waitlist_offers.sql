CREATE TYPE "public"."waitlist_offer_status" AS ENUM('PENDING', 'OFFERED', 'ACCEPTED', 'DECLINED', 'EXPIRED', 'WITHDRAWN');--> statement-breakpoint
CREATE TYPE "public"."waitlist_policy" AS ENUM('strict', 'first_fit');--> statement-breakpoint
CREATE TABLE "waitlist_joins" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" bigint NOT NULL,
	"user_id" bigint NOT NULL,
	"party_size" integer NOT NULL,
	"joined_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "waitlist_offer_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"offer_id" bigint NOT NULL,
	"event_id" bigint NOT NULL,
	"status" "waitlist_offer_status" NOT NULL,
	"seat_count" integer NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "waitlist_offers" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"event_id" bigint NOT NULL,
	"user_id" bigint NOT NULL,
	"party_size" integer NOT NULL,
	"seat_numbers" integer[] DEFAULT '{}' NOT NULL,
	"status" "waitlist_offer_status" DEFAULT 'PENDING' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"offered_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL,
	"answered_at" timestamp with time zone,
	CONSTRAINT "waitlist_offers_party_positive" CHECK ("waitlist_offers"."party_size" >= 1),
	CONSTRAINT "waitlist_offers_offered_at" CHECK ("waitlist_offers"."status" in ('PENDING', 'WITHDRAWN') or "waitlist_offers"."offered_at" is not null),
	CONSTRAINT "waitlist_offers_answered_at" CHECK (("waitlist_offers"."status" in ('PENDING', 'OFFERED')) = ("waitlist_offers"."answered_at" is null))
);
--> statement-breakpoint
ALTER TABLE "events" ADD COLUMN "waitlist_policy" "waitlist_policy" DEFAULT 'strict' NOT NULL;--> statement-breakpoint
ALTER TABLE "seats" ADD COLUMN "offer_id" bigint;--> statement-breakpoint
ALTER TABLE "waitlist_joins" ADD CONSTRAINT "waitlist_joins_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "waitlist_joins" ADD CONSTRAINT "waitlist_joins_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "waitlist_offer_events" ADD CONSTRAINT "waitlist_offer_events_offer_id_waitlist_offers_id_fk" FOREIGN KEY ("offer_id") REFERENCES "public"."waitlist_offers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "waitlist_offers" ADD CONSTRAINT "waitlist_offers_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "waitlist_offers" ADD CONSTRAINT "waitlist_offers_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "waitlist_joins_event_idx" ON "waitlist_joins" USING btree ("event_id","joined_at");--> statement-breakpoint
CREATE INDEX "waitlist_offer_events_event_idx" ON "waitlist_offer_events" USING btree ("event_id","status","at");--> statement-breakpoint
CREATE UNIQUE INDEX "waitlist_offers_one_live_per_user" ON "waitlist_offers" USING btree ("event_id","user_id") WHERE "waitlist_offers"."status" in ('PENDING', 'OFFERED');--> statement-breakpoint
CREATE INDEX "waitlist_offers_live_expiry_idx" ON "waitlist_offers" USING btree ("expires_at") WHERE "waitlist_offers"."status" in ('PENDING', 'OFFERED');--> statement-breakpoint
CREATE INDEX "waitlist_offers_user_idx" ON "waitlist_offers" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "waitlist_offers_event_idx" ON "waitlist_offers" USING btree ("event_id","status");--> statement-breakpoint
ALTER TABLE "seats" ADD CONSTRAINT "seats_offer_id_waitlist_offers_id_fk" FOREIGN KEY ("offer_id") REFERENCES "public"."waitlist_offers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "seats_offer_idx" ON "seats" USING btree ("offer_id") WHERE "seats"."offer_id" is not null;--> statement-breakpoint
ALTER TABLE "seats" ADD CONSTRAINT "seats_offer_held" CHECK ("seats"."offer_id" is null or "seats"."status" = 'HELD');--> statement-breakpoint
-- A seat that leaves HELD leaves its offer: whoever changes the status (book_seats for the old
-- POST /events/{id}/book/{seat} path, a release) need not know about offers.
CREATE FUNCTION seats_leave_offer() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.offer_id := NULL;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER seats_leave_offer BEFORE UPDATE OF status ON seats
FOR EACH ROW WHEN (OLD.offer_id IS NOT NULL AND NEW.status <> 'HELD')
EXECUTE FUNCTION seats_leave_offer();
--> statement-breakpoint
-- The holder booked an offered seat (accept, or the old book path): once none of the offer's
-- seats is still HELD for it, the offer is ACCEPTED. AFTER ROW triggers run at the end of the
-- statement, so a booking of several seats sees all of them booked.
CREATE FUNCTION seats_booked_accept_offer() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
BEGIN
  UPDATE waitlist_offers SET status = 'ACCEPTED', answered_at = now()
   WHERE id = OLD.offer_id AND status = 'OFFERED'
     AND NOT EXISTS (SELECT 1 FROM seats WHERE offer_id = OLD.offer_id);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER seats_booked_accept_offer AFTER UPDATE OF status ON seats
FOR EACH ROW WHEN (OLD.offer_id IS NOT NULL AND NEW.status = 'BOOKED')
EXECUTE FUNCTION seats_booked_accept_offer();
--> statement-breakpoint
-- Every status an offer takes is recorded (analytics), and the domain events for webhooks
-- (waitlist.offered / accepted / expired, stream domain.events, src/messaging/catalog.ts) are
-- written to the outbox in the same transaction, whichever path made the change.
CREATE FUNCTION waitlist_offer_status_changed() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_type text := CASE NEW.status WHEN 'OFFERED' THEN 'waitlist.offered' WHEN 'ACCEPTED' THEN 'waitlist.accepted'
                                 WHEN 'EXPIRED' THEN 'waitlist.expired' END;
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.status = NEW.status THEN
    RETURN NULL;
  END IF;
  INSERT INTO waitlist_offer_events (offer_id, event_id, status, seat_count)
  VALUES (NEW.id, NEW.event_id, NEW.status, cardinality(NEW.seat_numbers));
  IF v_type IS NOT NULL THEN
    INSERT INTO outbox (stream, payload) VALUES ('domain.events', jsonb_build_object(
      'type', v_type,
      'event_id', NEW.event_id,
      'occurred_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'data', jsonb_build_object('offer_id', NEW.id, 'user_id', NEW.user_id, 'party_size', NEW.party_size,
        'seat_numbers', to_jsonb(NEW.seat_numbers),
        'expires_at', to_char(NEW.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))));
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER waitlist_offer_status_changed AFTER INSERT OR UPDATE OF status ON waitlist_offers
FOR EACH ROW EXECUTE FUNCTION waitlist_offer_status_changed();
