ALTER TABLE "seats" ADD COLUMN "version" integer DEFAULT 0 NOT NULL;
--> statement-breakpoint
-- Live availability (docs/live.md): every change of a seat's status bumps its version, in the
-- same row write, so a subscriber can drop a change older than the one it already has (two
-- processes may publish changes of one seat out of commit order). A BEFORE trigger with a WHEN
-- clause costs nothing on updates that leave the status alone (hold extensions, extradata), and
-- covers every path that changes a seat, present and future, without each one remembering to.
CREATE FUNCTION bump_seat_version() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.version := OLD.version + 1;
  RETURN NEW;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER seats_bump_version
  BEFORE UPDATE OF status ON seats
  FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION bump_seat_version();
--> statement-breakpoint
-- book_seats as in 0004 (holds), and each booking also names its seat's new version, so the
-- booking path publishes its live change without another round trip.
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
  RETURN jsonb_build_object('code', 'OK', 'bookings', v_bookings, 'event_name', v_event.name,
    'venue', v_event.venue,
    'accepted_offers', (SELECT count(*) FROM unnest(v_statuses, v_holds) AS x(st, h)
                         WHERE x.st = 'HELD' AND x.h IS NULL));
END;
$$;
