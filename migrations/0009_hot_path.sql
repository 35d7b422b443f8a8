DROP INDEX "bookings_event_status_idx";--> statement-breakpoint
DROP INDEX "bookings_event_user_booked_idx";--> statement-breakpoint
CREATE INDEX "bookings_event_user_idx" ON "bookings" USING btree ("event_id","user_id");--> statement-breakpoint
CREATE INDEX "bookings_event_cancelled_idx" ON "bookings" USING btree ("event_id","cancelled_at") WHERE "bookings"."status" = 'CANCELLED';--> statement-breakpoint
-- The booking hot path (issue 14, docs/benchmark.md). Bookings lose the (event_id, status) index:
-- one index less to maintain per booking; an event's recent cancellations, the only read it
-- served that no other index does, get a partial index that BOOKED rows never enter. The per-user
-- index is no longer partial: its predicate status = 'BOOKED' was the same as
-- bookings_one_booked_per_seat's, and on tables analyzed while empty the planner took either one
-- for a query that wanted the other, scanning it whole. Now every "BOOKED booking of this seat"
-- lookup has one index to use, and the per-user count below compares status as text, which no
-- partial index predicate matches.
--
-- book_seats with the same locks, checks, answers and writes as in 0006, in four statements
-- instead of eleven: the (user, event) lock; the seats FOR UPDATE (one named seat without
-- aggregates); the event and the user's booked + live held seats, read together after the locks;
-- the seats marked and the bookings inserted. The refusal checks run over the locked rows in
-- PL/pgSQL (no query per check). Every statement after the lock has its own snapshot, so it sees
-- whatever committed while this call waited for the locks.
CREATE OR REPLACE FUNCTION book_seats(
  p_user bigint, p_event bigint, p_seat_numbers int[], p_quantity int, p_max_per_user int
) RETURNS jsonb
LANGUAGE plpgsql
SET enable_seqscan = off
-- One plan per statement and connection: left to choose, the plan cache re-planned the UPDATE/INSERT
-- statement on every call (its generic cost for "id = ANY (v_ids)" looked worse than a custom
-- plan's), 0.19 ms per booking.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_ids bigint[];
  v_numbers int[];
  v_statuses seat_status[];
  v_holders bigint[];
  v_ends timestamptz[];
  v_holds bigint[];
  v_wanted int := coalesce(cardinality(p_seat_numbers), p_quantity);
  v_found int;
  v_booked int[] := '{}';
  v_held int[] := '{}';
  v_expired int[] := '{}';
  v_offers int := 0;
  v_now timestamptz;
  v_name text;
  v_venue text;
  v_started boolean;
  v_deleted boolean;
  v_user_seats int;
  v_bookings jsonb;
BEGIN
  PERFORM pg_advisory_xact_lock((p_user % 2147483647)::int4, (p_event % 2147483647)::int4);
  IF cardinality(p_seat_numbers) = 1 THEN
    SELECT ARRAY[id], ARRAY[seat_number], ARRAY[status], ARRAY[held_by], ARRAY[hold_expires_at], ARRAY[hold_id]
      INTO v_ids, v_numbers, v_statuses, v_holders, v_ends, v_holds
      FROM seats WHERE event_id = p_event AND seat_number = p_seat_numbers[1] FOR UPDATE;
  ELSIF p_seat_numbers IS NOT NULL THEN
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

  SELECT e.name, e.venue, e.start_time <= now(), e.deleted_at IS NOT NULL,
         (SELECT count(*) FROM bookings b
           WHERE b.event_id = p_event AND b.user_id = p_user AND b.status::text = 'BOOKED')
       -- Seats this user holds elsewhere in the event (live holds and offers), not the ones booked now.
       + (SELECT count(*) FROM seats s
           WHERE s.event_id = p_event AND s.status = 'HELD' AND s.held_by = p_user
             AND s.hold_expires_at > v_now AND s.id <> ALL (coalesce(v_ids, '{}')))
    INTO v_name, v_venue, v_started, v_deleted, v_user_seats
    FROM events e WHERE e.id = p_event;
  IF NOT FOUND OR v_deleted THEN
    RETURN jsonb_build_object('code', 'EVENT_NOT_FOUND');
  END IF;
  IF v_started THEN
    RETURN jsonb_build_object('code', 'EVENT_STARTED');
  END IF;
  IF p_seat_numbers IS NOT NULL AND v_found < cardinality(p_seat_numbers) THEN
    RETURN jsonb_build_object('code', 'SEAT_NOT_FOUND', 'seats',
      to_jsonb(ARRAY(SELECT n FROM unnest(p_seat_numbers) n
                      WHERE n <> ALL (coalesce(v_numbers, '{}')) ORDER BY n)));
  END IF;
  FOR i IN 1 .. v_found LOOP
    IF v_statuses[i] = 'BOOKED' THEN
      v_booked := v_booked || v_numbers[i];
    ELSIF v_statuses[i] = 'HELD' THEN
      -- Someone else's hold stays theirs, even past its end, until the janitor hands it over;
      -- the holder's own hold is over at its end, not when the janitor comes by.
      IF v_holders[i] IS DISTINCT FROM p_user THEN
        v_held := v_held || v_numbers[i];
      ELSIF v_ends[i] <= v_now THEN
        v_expired := v_expired || v_numbers[i];
      ELSIF v_holds[i] IS NULL THEN
        v_offers := v_offers + 1;
      END IF;
    END IF;
  END LOOP;
  IF cardinality(v_booked) > 0 THEN
    RETURN jsonb_build_object('code', 'SEAT_ALREADY_BOOKED', 'seats', to_jsonb(v_booked));
  END IF;
  IF cardinality(v_held) > 0 THEN
    RETURN jsonb_build_object('code', 'SEAT_HELD', 'seats', to_jsonb(v_held));
  END IF;
  IF cardinality(v_expired) > 0 THEN
    RETURN jsonb_build_object('code', 'HOLD_EXPIRED', 'seats', to_jsonb(v_expired));
  END IF;
  IF v_found < v_wanted THEN
    RETURN jsonb_build_object('code', 'NOT_ENOUGH_SEATS', 'free', v_found, 'wanted', v_wanted);
  END IF;
  IF v_user_seats + v_wanted > p_max_per_user THEN
    RETURN jsonb_build_object('code', 'USER_SEAT_LIMIT', 'booked', v_user_seats, 'max', p_max_per_user);
  END IF;

  WITH marked AS (
    UPDATE seats SET status = 'BOOKED', held_by = NULL, hold_expires_at = NULL, hold_id = NULL
     WHERE id = ANY (v_ids)
    RETURNING id, seat_number, version),
  made AS (
    INSERT INTO bookings (user_id, event_id, seat_id, seat_number, status, hold_id)
    SELECT p_user, p_event, m.id, m.seat_number, 'BOOKED', h.hold_id
      FROM marked m JOIN unnest(v_ids, v_holds) AS h(seat_id, hold_id) ON h.seat_id = m.id
     ORDER BY m.seat_number
    RETURNING id, seat_id, seat_number, created_at)
  SELECT jsonb_agg(jsonb_build_object('booking_id', made.id, 'seat_number', made.seat_number,
                                      'created_at', made.created_at, 'version', marked.version)
                   ORDER BY made.seat_number)
    INTO v_bookings FROM made JOIN marked ON marked.id = made.seat_id;
  -- SKIP LOCKED: every other change of these holds runs under this user's lock, except an event
  -- deletion, which locks holds before seats and ends them itself; never wait for it here.
  IF cardinality(array_remove(v_holds, NULL)) > 0 THEN
    UPDATE holds SET status = 'CONFIRMED', ended_at = v_now
     WHERE id IN (SELECT id FROM holds WHERE id = ANY (v_holds) AND status = 'ACTIVE' FOR UPDATE SKIP LOCKED)
       AND NOT EXISTS (SELECT 1 FROM seats s WHERE s.hold_id = holds.id);
  END IF;
  RETURN jsonb_build_object('code', 'OK', 'bookings', v_bookings, 'event_name', v_name,
    'venue', v_venue, 'accepted_offers', v_offers);
END;
$$;
--> statement-breakpoint
-- The seat/booking consistency rule (0001) at a fraction of its cost. It was checked twice per
-- booking (the seat's change and the booking's insert), each time through a second PL/pgSQL call
-- re-planned on every call (a per-call SET plan_cache_mode = force_custom_plan, 0008). Now each
-- check is one query in the trigger function itself, planned once per connection: two independent
-- probes, the seat by primary key and its BOOKED booking through bookings_one_booked_per_seat,
-- each with the seat id as a parameter (a correlated EXISTS let the planner choose a "hashed
-- SubPlan" that reads every BOOKED booking, which it does when the tables looked empty at the last
-- ANALYZE: 238 buffers per check in the bench). Each probe has exactly one index it can use, and
-- the planner is kept off sequential scans, so no cached plan goes stale as the tables grow: the
-- first check of a transaction turns enable_seqscan off with set_config(..., true), once, instead
-- of a SET on every call; these triggers are deferred, they run at COMMIT, where nothing follows
-- but other deferred checks. They fire only when the rule can change: a seat entering or leaving
-- BOOKED, a BOOKED booking inserted, a booking entering or leaving BOOKED or moving seat (both
-- seats checked), a BOOKED booking deleted (0001 checked neither of the last two).
-- check_seat_booking_consistency (0001) still raises the error (23514, constraint
-- seat_booking_consistency), called only when a check fails.
CREATE OR REPLACE FUNCTION seats_check_booking_consistency() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF current_setting('enable_seqscan') = 'on' THEN
    PERFORM set_config('enable_seqscan', 'off', true);
  END IF;
  IF (SELECT s.status = 'BOOKED' FROM seats s WHERE s.id = NEW.id)
     <> EXISTS (SELECT 1 FROM bookings b WHERE b.seat_id = NEW.id AND b.status = 'BOOKED') THEN
    PERFORM check_seat_booking_consistency(NEW.id);
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION bookings_check_seat_consistency() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  v_seat bigint;
BEGIN
  IF current_setting('enable_seqscan') = 'on' THEN
    PERFORM set_config('enable_seqscan', 'off', true);
  END IF;
  FOREACH v_seat IN ARRAY CASE
      WHEN TG_OP = 'INSERT' THEN ARRAY[NEW.seat_id]
      WHEN TG_OP = 'DELETE' THEN ARRAY[OLD.seat_id]
      WHEN OLD.seat_id IS DISTINCT FROM NEW.seat_id THEN ARRAY[NEW.seat_id, OLD.seat_id]
      ELSE ARRAY[NEW.seat_id] END LOOP
    IF (SELECT s.status = 'BOOKED' FROM seats s WHERE s.id = v_seat)
       <> EXISTS (SELECT 1 FROM bookings b WHERE b.seat_id = v_seat AND b.status = 'BOOKED') THEN
      PERFORM check_seat_booking_consistency(v_seat);
    END IF;
  END LOOP;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
ALTER FUNCTION check_seat_booking_consistency(bigint) RESET plan_cache_mode;
--> statement-breakpoint
DROP TRIGGER seats_booking_consistency ON seats;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER seats_booking_consistency
  AFTER UPDATE OF status ON seats
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (OLD.status = 'BOOKED' OR NEW.status = 'BOOKED')
  EXECUTE FUNCTION seats_check_booking_consistency();
--> statement-breakpoint
DROP TRIGGER bookings_seat_consistency ON bookings;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER bookings_seat_consistency
  AFTER INSERT ON bookings
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (NEW.status = 'BOOKED')
  EXECUTE FUNCTION bookings_check_seat_consistency();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER bookings_seat_consistency_on_change
  AFTER UPDATE OF status, seat_id ON bookings
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (OLD.status = 'BOOKED' OR NEW.status = 'BOOKED')
  EXECUTE FUNCTION bookings_check_seat_consistency();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER bookings_seat_consistency_on_delete
  AFTER DELETE ON bookings
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (OLD.status = 'BOOKED')
  EXECUTE FUNCTION bookings_check_seat_consistency();
--> statement-breakpoint
-- booking.created outbox rows (0007): the subscription probe runs inside book_seats, which keeps
-- the planner off sequential scans already, and webhook_subscriptions holds a handful of rows;
-- the trigger's own per-statement SET cost more than the probe.
ALTER FUNCTION bookings_domain_events() RESET enable_seqscan;
