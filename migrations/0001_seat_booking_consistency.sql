-- A seat is BOOKED exactly when it has one BOOKED booking. The partial unique index
-- bookings_one_booked_per_seat already forbids two; these deferred constraint triggers forbid
-- the two tables from disagreeing (a BOOKED seat with no booking, or a BOOKED booking on a seat
-- that is not BOOKED). Deferred to COMMIT so a transaction may update seat and booking in
-- either order.
CREATE FUNCTION check_seat_booking_consistency(p_seat_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_status seat_status;
  v_booked boolean;
BEGIN
  IF p_seat_id IS NULL THEN
    RETURN;
  END IF;
  SELECT status INTO v_status FROM seats WHERE id = p_seat_id;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT EXISTS (SELECT 1 FROM bookings WHERE seat_id = p_seat_id AND status = 'BOOKED') INTO v_booked;
  IF (v_status = 'BOOKED') IS DISTINCT FROM v_booked THEN
    RAISE EXCEPTION 'seat % is % but has % BOOKED booking', p_seat_id, v_status,
      CASE WHEN v_booked THEN 'a' ELSE 'no' END
      USING ERRCODE = '23514', CONSTRAINT = 'seat_booking_consistency';
  END IF;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION seats_check_booking_consistency() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM check_seat_booking_consistency(NEW.id);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE FUNCTION bookings_check_seat_consistency() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM check_seat_booking_consistency(NEW.seat_id);
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER seats_booking_consistency
  AFTER INSERT OR UPDATE OF status ON seats
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION seats_check_booking_consistency();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER bookings_seat_consistency
  AFTER INSERT OR UPDATE OF status, seat_id ON bookings
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION bookings_check_seat_consistency();
