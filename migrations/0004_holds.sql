CREATE TYPE "public"."hold_status" AS ENUM('ACTIVE', 'CONFIRMED', 'RELEASED', 'EXPIRED');--> statement-breakpoint
CREATE TABLE "holds" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"token" text NOT NULL,
	"user_id" bigint NOT NULL,
	"event_id" bigint NOT NULL,
	"seat_numbers" integer[] NOT NULL,
	"status" "hold_status" DEFAULT 'ACTIVE' NOT NULL,
	"extensions" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	CONSTRAINT "holds_ended_at" CHECK (("holds"."status" = 'ACTIVE') = ("holds"."ended_at" is null)),
	CONSTRAINT "holds_extensions_range" CHECK ("holds"."extensions" >= 0)
);
--> statement-breakpoint
ALTER TABLE "bookings" ADD COLUMN "hold_id" bigint;--> statement-breakpoint
ALTER TABLE "seats" ADD COLUMN "hold_id" bigint;--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "holds_token_key" ON "holds" USING btree ("token");--> statement-breakpoint
CREATE INDEX "holds_user_event_active_idx" ON "holds" USING btree ("event_id","user_id") WHERE "holds"."status" = 'ACTIVE';--> statement-breakpoint
CREATE INDEX "holds_active_expiry_idx" ON "holds" USING btree ("expires_at") WHERE "holds"."status" = 'ACTIVE';--> statement-breakpoint
ALTER TABLE "bookings" ADD CONSTRAINT "bookings_hold_id_holds_id_fk" FOREIGN KEY ("hold_id") REFERENCES "public"."holds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "seats" ADD CONSTRAINT "seats_hold_id_holds_id_fk" FOREIGN KEY ("hold_id") REFERENCES "public"."holds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "bookings_hold_id_idx" ON "bookings" USING btree ("hold_id") WHERE "bookings"."hold_id" is not null;--> statement-breakpoint
CREATE INDEX "seats_hold_id_idx" ON "seats" USING btree ("hold_id") WHERE "seats"."hold_id" is not null;--> statement-breakpoint
ALTER TABLE "seats" ADD CONSTRAINT "seats_hold_id_held" CHECK ("seats"."hold_id" is null or "seats"."status" = 'HELD');--> statement-breakpoint
-- book_seats (0003) aware of checkout holds (docs/holds.md). The same locks in the same order
-- (the (user, event) advisory lock, then the seat rows in ascending seat number), then every
-- check, and three changes:
--   * a HELD seat is booked only by its holder, and only before its hold_expires_at, compared
--     with clock_timestamp() after the locks: past it the holder gets HOLD_EXPIRED (everyone else
--     SEAT_HELD) until the janitor hands the seat over;
--   * the per-user limit counts the user's live HELD seats (holds and waitlist offers) beside the
--     BOOKED ones;
--   * a seat booked out of a checkout hold leaves the hold, its booking points at the hold
--     (bookings.hold_id), and a hold left without seats is CONFIRMED. Every change of a hold is
--     made under its owner's (user, event) lock, which this function holds.
-- accepted_offers counts waitlist offers only (HELD seats without a hold).
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
  v_ends timestamptz[];
  v_holds bigint[];
  v_wanted int := coalesce(cardinality(p_seat_numbers), p_quantity);
  v_found int;
  v_refused int[];
  v_now timestamptz;
  v_user_booked int;
  v_user_held int;
  v_bookings jsonb;
BEGIN
  PERFORM pg_advisory_xact_lock((p_user % 2147483647)::int4, (p_event % 2147483647)::int4);
  IF p_seat_numbers IS NOT NULL THEN
    SELECT array_agg(id ORDER BY seat_number), array_agg(seat_number ORDER BY seat_number),
           array_agg(status ORDER BY seat_number), array_agg(held_by ORDER BY seat_number),
           array_agg(hold_expires_at ORDER BY seat_number), array_agg(hold_id ORDER BY seat_number)
      INTO v_ids, v_numbers, v_statuses, v_holders, v_ends, v_holds
      FROM (SELECT id, seat_number, status, held_by, hold_expires_at, hold_id FROM seats
             WHERE event_id = p_event AND seat_number = ANY (p_seat_numbers)
             ORDER BY seat_number FOR UPDATE) locked;
  ELSE
    SELECT array_agg(id ORDER BY seat_number), array_agg(seat_number ORDER BY seat_number),
           array_agg(status ORDER BY seat_number), array_agg(held_by ORDER BY seat_number),
           array_agg(hold_expires_at ORDER BY seat_number), array_agg(hold_id ORDER BY seat_number)
      INTO v_ids, v_numbers, v_statuses, v_holders, v_ends, v_holds
      FROM (SELECT id, seat_number, status, held_by, hold_expires_at, hold_id FROM seats
             WHERE event_id = p_event AND status = 'AVAILABLE'
             ORDER BY seat_number LIMIT p_quantity FOR UPDATE SKIP LOCKED) locked;
  END IF;
  v_found := coalesce(cardinality(v_ids), 0);
  -- After the locks: a hold that ended while we waited for them has ended.
  v_now := clock_timestamp();

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
  -- Someone else's hold stays theirs, even past its end, until the janitor hands it over.
  v_refused := ARRAY(SELECT v_numbers[i] FROM generate_series(1, v_found) i
                      WHERE v_statuses[i] = 'HELD' AND v_holders[i] IS DISTINCT FROM p_user);
  IF cardinality(v_refused) > 0 THEN
    RETURN jsonb_build_object('code', 'SEAT_HELD', 'seats', to_jsonb(v_refused));
  END IF;
  -- The holder's own hold is over at its end, not when the janitor comes by.
  v_refused := ARRAY(SELECT v_numbers[i] FROM generate_series(1, v_found) i
                      WHERE v_statuses[i] = 'HELD' AND v_ends[i] <= v_now);
  IF cardinality(v_refused) > 0 THEN
    RETURN jsonb_build_object('code', 'HOLD_EXPIRED', 'seats', to_jsonb(v_refused));
  END IF;
  IF v_found < v_wanted THEN
    RETURN jsonb_build_object('code', 'NOT_ENOUGH_SEATS', 'free', v_found, 'wanted', v_wanted);
  END IF;
  SELECT count(*) INTO v_user_booked FROM bookings
   WHERE event_id = p_event AND user_id = p_user AND status = 'BOOKED';
  -- Seats this user holds elsewhere in the event (live holds and offers), not the ones booked now.
  SELECT count(*) INTO v_user_held FROM seats
   WHERE event_id = p_event AND status = 'HELD' AND held_by = p_user AND hold_expires_at > v_now
     AND id <> ALL (coalesce(v_ids, '{}'));
  IF v_user_booked + v_user_held + v_wanted > p_max_per_user THEN
    RETURN jsonb_build_object('code', 'USER_SEAT_LIMIT', 'booked', v_user_booked + v_user_held,
      'max', p_max_per_user);
  END IF;

  WITH marked AS (
    UPDATE seats SET status = 'BOOKED', held_by = NULL, hold_expires_at = NULL, hold_id = NULL
     WHERE id = ANY (v_ids)
    RETURNING id, seat_number),
  made AS (
    INSERT INTO bookings (user_id, event_id, seat_id, seat_number, status, hold_id)
    SELECT p_user, p_event, m.id, m.seat_number, 'BOOKED', h.hold_id
      FROM marked m JOIN unnest(v_ids, v_holds) AS h(seat_id, hold_id) ON h.seat_id = m.id
     ORDER BY m.seat_number
    RETURNING id, seat_number, created_at)
  SELECT jsonb_agg(jsonb_build_object('booking_id', id, 'seat_number', seat_number, 'created_at', created_at)
                   ORDER BY seat_number)
    INTO v_bookings FROM made;
  -- SKIP LOCKED: every other change of these holds runs under this user's lock, except an event
  -- deletion, which locks holds before seats and ends them itself; never wait for it here.
  IF cardinality(array_remove(v_holds, NULL)) > 0 THEN
    UPDATE holds SET status = 'CONFIRMED', ended_at = v_now
     WHERE id IN (SELECT id FROM holds WHERE id = ANY (v_holds) AND status = 'ACTIVE' FOR UPDATE SKIP LOCKED)
       AND NOT EXISTS (SELECT 1 FROM seats s WHERE s.hold_id = holds.id);
  END IF;
  RETURN jsonb_build_object('code', 'OK', 'bookings', v_bookings, 'event_name', v_event.name,
    'venue', v_event.venue,
    'accepted_offers', (SELECT count(*) FROM unnest(v_statuses, v_holds) AS x(st, h)
                         WHERE x.st = 'HELD' AND x.h IS NULL));
END;
$$;
--> statement-breakpoint
-- A hold's confirm as one statement (src/modules/holds/holds.repo.ts confirmHold): the owner's
-- (user, event) lock, the hold row FOR UPDATE, then its seats through book_seats (which locks them
-- in ascending seat number and checks everything after the locks). Someone else's hold answers
-- HOLD_NOT_FOUND like a missing one. A CONFIRMED hold answers its bookings again (fresh: false).
-- A refusal returns {code, …} before anything is written.
CREATE FUNCTION confirm_hold(p_token text, p_actor bigint, p_admin boolean, p_max_per_user int)
RETURNS jsonb
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
  v_hold record;
  v_numbers int[] := '{}';
  v_outcome jsonb;
  v_fresh boolean := false;
BEGIN
  SELECT id, user_id, event_id INTO v_hold FROM holds WHERE token = p_token;
  IF NOT FOUND OR (v_hold.user_id <> p_actor AND NOT p_admin) THEN
    RETURN jsonb_build_object('code', 'HOLD_NOT_FOUND');
  END IF;
  PERFORM pg_advisory_xact_lock((v_hold.user_id % 2147483647)::int4, (v_hold.event_id % 2147483647)::int4);
  SELECT id, user_id, event_id, status, expires_at, expires_at > clock_timestamp() AS live
    INTO v_hold FROM holds WHERE id = v_hold.id FOR UPDATE;
  IF v_hold.status = 'EXPIRED' OR (v_hold.status = 'ACTIVE' AND NOT v_hold.live) THEN
    RETURN jsonb_build_object('code', 'HOLD_EXPIRED', 'expires_at', v_hold.expires_at);
  END IF;
  IF v_hold.status = 'RELEASED' THEN
    RETURN jsonb_build_object('code', 'HOLD_NOT_ACTIVE', 'status', v_hold.status);
  END IF;
  IF v_hold.status = 'ACTIVE' THEN
    v_fresh := true;
    v_numbers := ARRAY(SELECT seat_number FROM seats WHERE hold_id = v_hold.id ORDER BY seat_number);
    IF cardinality(v_numbers) = 0 THEN
      UPDATE holds SET status = 'CONFIRMED', ended_at = clock_timestamp() WHERE id = v_hold.id;
    ELSE
      -- Confirms the hold too: it is left without seats.
      v_outcome := book_seats(v_hold.user_id, v_hold.event_id, v_numbers, NULL, p_max_per_user);
      IF v_outcome->>'code' <> 'OK' THEN
        RETURN v_outcome;
      END IF;
    END IF;
  END IF;
  RETURN jsonb_build_object('code', 'OK', 'fresh', v_fresh, 'event_id', v_hold.event_id,
    'seats', to_jsonb(v_numbers),
    'bookings', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'booking_id', b.id, 'user_id', b.user_id, 'seat_number', b.seat_number,
                   'status', b.status, 'venue', e.venue, 'event_name', e.name,
                   'created_at', b.created_at, 'cancelled_at', b.cancelled_at,
                   'event_started', e.start_time <= now()) ORDER BY b.seat_number), '[]'::jsonb)
                 FROM bookings b JOIN events e ON e.id = b.event_id WHERE b.hold_id = v_hold.id));
END;
$$;
--> statement-breakpoint
-- A hold's creation as one statement (src/modules/holds/holds.repo.ts createHold), the booking
-- function's rules: the (user, event) advisory lock; the event's state and the user's limits
-- (live holds, booked + live held seats); then the seats — named ones FOR UPDATE in ascending seat
-- number (all or nothing: missing, booked or held refuse), a chosen block of adjacent seats
-- (p_block: FOR UPDATE SKIP LOCKED, BLOCK_TAKEN names the seats it could not take, so the caller
-- chooses again), or the lowest AVAILABLE seats FOR UPDATE SKIP LOCKED; then the holds row, its
-- seats HELD with its exact end, and the outbox row announcing it: p_outbox_payload is the
-- payload the service built (src/messaging/domain-events.ts, typed by the stream catalogue) and
-- this fills in its data's hold_id, seats and expires_at. One statement, so the user's lock is
-- held for no longer than the statement. A refusal returns {code, …} before anything is written.
CREATE FUNCTION create_hold(
  p_user bigint, p_event bigint, p_seat_numbers int[], p_quantity int, p_block boolean, p_token text,
  p_ttl_seconds int, p_max_per_user int, p_max_holds int, p_outbox_stream text, p_outbox_payload jsonb
) RETURNS jsonb
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
  v_event record;
  v_ids bigint[];
  v_numbers int[];
  v_statuses seat_status[];
  v_wanted int := coalesce(cardinality(p_seat_numbers), p_quantity);
  v_found int;
  v_refused int[];
  v_now timestamptz;
  v_booked int;
  v_held int;
  v_holds int;
  v_hold_id bigint;
  v_expires timestamptz;
BEGIN
  PERFORM pg_advisory_xact_lock((p_user % 2147483647)::int4, (p_event % 2147483647)::int4);
  SELECT start_time <= now() AS started, deleted_at IS NOT NULL AS deleted
    INTO v_event FROM events WHERE id = p_event;
  IF NOT FOUND OR v_event.deleted THEN
    RETURN jsonb_build_object('code', 'EVENT_NOT_FOUND');
  END IF;
  IF v_event.started THEN
    RETURN jsonb_build_object('code', 'EVENT_STARTED');
  END IF;
  v_now := clock_timestamp();
  SELECT count(*) INTO v_holds FROM holds
   WHERE event_id = p_event AND user_id = p_user AND status = 'ACTIVE' AND expires_at > v_now;
  IF v_holds >= p_max_holds THEN
    RETURN jsonb_build_object('code', 'HOLD_LIMIT', 'max', p_max_holds);
  END IF;
  SELECT count(*) INTO v_booked FROM bookings
   WHERE event_id = p_event AND user_id = p_user AND status = 'BOOKED';
  SELECT count(*) INTO v_held FROM seats
   WHERE event_id = p_event AND status = 'HELD' AND held_by = p_user AND hold_expires_at > v_now;
  IF v_booked + v_held + v_wanted > p_max_per_user THEN
    RETURN jsonb_build_object('code', 'USER_SEAT_LIMIT', 'booked', v_booked + v_held, 'max', p_max_per_user);
  END IF;

  IF p_seat_numbers IS NOT NULL AND NOT p_block THEN
    SELECT array_agg(id ORDER BY seat_number), array_agg(seat_number ORDER BY seat_number),
           array_agg(status ORDER BY seat_number)
      INTO v_ids, v_numbers, v_statuses
      FROM (SELECT id, seat_number, status FROM seats
             WHERE event_id = p_event AND seat_number = ANY (p_seat_numbers)
             ORDER BY seat_number FOR UPDATE) locked;
    v_found := coalesce(cardinality(v_ids), 0);
    IF v_found < cardinality(p_seat_numbers) THEN
      RETURN jsonb_build_object('code', 'SEAT_NOT_FOUND', 'seats',
        to_jsonb(ARRAY(SELECT n FROM unnest(p_seat_numbers) n
                        WHERE n <> ALL (coalesce(v_numbers, '{}')) ORDER BY n)));
    END IF;
    v_refused := ARRAY(SELECT v_numbers[i] FROM generate_series(1, v_found) i WHERE v_statuses[i] = 'BOOKED');
    IF cardinality(v_refused) > 0 THEN
      RETURN jsonb_build_object('code', 'SEAT_ALREADY_BOOKED', 'seats', to_jsonb(v_refused));
    END IF;
    v_refused := ARRAY(SELECT v_numbers[i] FROM generate_series(1, v_found) i WHERE v_statuses[i] = 'HELD');
    IF cardinality(v_refused) > 0 THEN
      RETURN jsonb_build_object('code', 'SEAT_HELD', 'seats', to_jsonb(v_refused));
    END IF;
  ELSIF p_block THEN
    SELECT array_agg(id ORDER BY seat_number), array_agg(seat_number ORDER BY seat_number)
      INTO v_ids, v_numbers
      FROM (SELECT id, seat_number FROM seats
             WHERE event_id = p_event AND seat_number = ANY (p_seat_numbers) AND status = 'AVAILABLE'
             ORDER BY seat_number FOR UPDATE SKIP LOCKED) locked;
    IF coalesce(cardinality(v_ids), 0) < v_wanted THEN
      RETURN jsonb_build_object('code', 'BLOCK_TAKEN', 'seats',
        to_jsonb(ARRAY(SELECT n FROM unnest(p_seat_numbers) n
                        WHERE n <> ALL (coalesce(v_numbers, '{}')) ORDER BY n)));
    END IF;
  ELSE
    SELECT array_agg(id ORDER BY seat_number), array_agg(seat_number ORDER BY seat_number)
      INTO v_ids, v_numbers
      FROM (SELECT id, seat_number FROM seats
             WHERE event_id = p_event AND status = 'AVAILABLE'
             ORDER BY seat_number LIMIT p_quantity FOR UPDATE SKIP LOCKED) locked;
    v_found := coalesce(cardinality(v_ids), 0);
    IF v_found < v_wanted THEN
      RETURN jsonb_build_object('code', 'NOT_ENOUGH_SEATS', 'free', v_found, 'wanted', v_wanted);
    END IF;
  END IF;

  INSERT INTO holds (token, user_id, event_id, seat_numbers, created_at, expires_at)
  VALUES (p_token, p_user, p_event, v_numbers, v_now, v_now + make_interval(secs => p_ttl_seconds))
  RETURNING id, expires_at INTO v_hold_id, v_expires;
  UPDATE seats SET status = 'HELD', held_by = p_user, hold_expires_at = v_expires, hold_id = v_hold_id
   WHERE id = ANY (v_ids);
  INSERT INTO outbox (stream, payload)
  VALUES (p_outbox_stream, p_outbox_payload || jsonb_build_object('data',
    coalesce(p_outbox_payload->'data', '{}'::jsonb) || jsonb_build_object(
      'hold_id', v_hold_id, 'seats', to_jsonb(v_numbers),
      'expires_at', to_char(v_expires AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))));
  RETURN jsonb_build_object('code', 'OK', 'hold_id', v_hold_id, 'seats', to_jsonb(v_numbers),
    'created_at_ms', floor(extract(epoch FROM v_now) * 1000),
    'expires_at_ms', floor(extract(epoch FROM v_expires) * 1000));
END;
$$;
--> statement-breakpoint
-- Several users' (user, event) advisory locks in one round trip, in ascending user id (the lock
-- order), with the same keys as every other (user, event) lock. A hold's release and expiry take
-- the owner's and the waitlist heads' locks this way.
CREATE FUNCTION lock_users_for_event(p_users bigint[], p_event bigint) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
  v_user bigint;
BEGIN
  FOREACH v_user IN ARRAY ARRAY(SELECT DISTINCT u FROM unnest(p_users) u WHERE u IS NOT NULL ORDER BY u) LOOP
    PERFORM pg_advisory_xact_lock((v_user % 2147483647)::int4, (p_event % 2147483647)::int4);
  END LOOP;
END;
$$;
