-- A cancel as one statement (issue 14; src/modules/bookings/bookings.repo.ts cancelBooking), with
-- the locks, checks and writes the service's transaction made in seven round trips: the booking as
-- the caller may see it (someone else's answers BOOKING_NOT_FOUND, as a missing one does); the
-- seat row FOR UPDATE (the lock a booking of that seat takes); after the lock, the event's start
-- (only an admin cancels once the doors opened); the booking BOOKED -> CANCELLED (its WHERE
-- re-checks the status, so of two concurrent cancels one wins and the other answers
-- BOOKING_ALREADY_CANCELLED); the seat AVAILABLE, returning its new version for live subscribers.
--
-- p_hand_over: the caller holds the (user, event) lock of the waitlist's head (taken before this
-- seat lock, as everywhere) and hands the seat over in its own transaction, then writes the
-- outbox rows itself, knowing whether the seat went to the line. Otherwise this writes them:
-- `seat.released` (p_released_payload as the service built it from the stream catalogue, its
-- seat_id and seat_number taken from the locked row) and, only while an active webhook
-- subscription wants it (one probe of the partial GIN index, as bookings_domain_events does for
-- booking.created, 0007), `booking.cancelled` (p_cancelled_payload, its data filled in with the
-- booking as the API answers it and seat_offered_to_waitlist = false).
-- The booking is built once, here: the answer and the webhook payload carry the same fields.
-- A refusal returns {code} before anything is written.
CREATE FUNCTION cancel_booking(
  p_booking bigint, p_actor bigint, p_is_admin boolean, p_hand_over boolean,
  p_cancelled_stream text, p_cancelled_payload jsonb, p_released_stream text, p_released_payload jsonb
) RETURNS jsonb
LANGUAGE plpgsql
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_user bigint;
  v_event bigint;
  v_seat bigint;
  v_status booking_status;
  v_started boolean;
  v_name text;
  v_venue text;
  v_booking jsonb;
  v_version int;
BEGIN
  SELECT user_id, event_id, seat_id, status INTO v_user, v_event, v_seat, v_status
    FROM bookings WHERE id = p_booking;
  IF NOT FOUND OR (v_user <> p_actor AND NOT p_is_admin) THEN
    RETURN jsonb_build_object('code', 'BOOKING_NOT_FOUND');
  END IF;
  IF v_status <> 'BOOKED' OR v_seat IS NULL THEN
    RETURN jsonb_build_object('code', 'BOOKING_ALREADY_CANCELLED');
  END IF;
  PERFORM 1 FROM seats WHERE id = v_seat FOR UPDATE;
  SELECT e.start_time <= now(), e.name, e.venue INTO v_started, v_name, v_venue FROM events e WHERE e.id = v_event;
  IF v_started AND NOT p_is_admin THEN
    RETURN jsonb_build_object('code', 'EVENT_STARTED');
  END IF;
  UPDATE bookings SET status = 'CANCELLED', cancelled_at = now()
   WHERE id = p_booking AND status = 'BOOKED' AND seat_id = v_seat
  RETURNING jsonb_build_object(
      'booking_id', id, 'event_id', event_id, 'seat_number', seat_number, 'status', 'CANCELLED',
      'venue', v_venue, 'event_name', v_name,
      'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'cancelled_at', to_char(cancelled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
    INTO v_booking;
  IF v_booking IS NULL THEN
    RETURN jsonb_build_object('code', 'BOOKING_ALREADY_CANCELLED');
  END IF;
  UPDATE seats SET status = 'AVAILABLE', held_by = NULL, hold_expires_at = NULL WHERE id = v_seat
  RETURNING version INTO v_version;
  IF NOT p_hand_over THEN
    INSERT INTO outbox (stream, payload) VALUES
      (p_released_stream, p_released_payload
         || jsonb_build_object('seat_id', v_seat, 'seat_number', v_booking->'seat_number'));
    IF EXISTS (SELECT 1 FROM webhook_subscriptions
                WHERE disabled_at IS NULL AND events @> ARRAY['booking.cancelled']) THEN
      INSERT INTO outbox (stream, payload) VALUES
        (p_cancelled_stream, p_cancelled_payload || jsonb_build_object('data',
           coalesce(p_cancelled_payload->'data', '{}'::jsonb) || v_booking
             || jsonb_build_object('seat_offered_to_waitlist', false)));
    END IF;
  END IF;
  RETURN jsonb_build_object('code', 'OK', 'booking', v_booking, 'seat_id', v_seat, 'version', v_version);
END;
$$;
