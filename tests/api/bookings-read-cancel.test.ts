import { beforeAll, describe, expect, it } from "bun:test";
import { sql } from "../../src/platform/db";
import { createEvent, seatInvariants, startEvent } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";

let admin: { token: string; id: number };
let owner: { token: string; id: number };
let stranger: { token: string; id: number };
beforeAll(async () => {
  admin = await adminToken();
  owner = await registerAndLogin("owner");
  stranger = await registerAndLogin("stranger");
});

async function bookOne(capacity = 3, seat = 1) {
  const event = await createEvent(admin.token, { capacity, venue: "Hall B" });
  const res = await api("POST", `/api/v1/events/${event.id}/book/${seat}`, { token: owner.token });
  return { event, booking: res.body as { booking_id: number } };
}

describe("reading bookings", () => {
  it("lists the caller's bookings, newest first, with event name, venue, seat and status", async () => {
    const { event } = await bookOne();
    await api("POST", `/api/v1/events/${event.id}/book/2`, { token: owner.token });
    const res = await api("GET", "/api/v1/bookings/", { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.body[0]).toMatchObject({ event_id: event.id, seat_number: 2, venue: "Hall B", status: "BOOKED" });
    expect(res.body[0].event_name).toBe(event.name);
    expect(Number(res.headers.get("x-total-count"))).toBeGreaterThanOrEqual(2);
    const theirs = await api("GET", "/api/v1/bookings", { token: stranger.token });
    expect(theirs.body.every((b: { booking_id: number }) => b.booking_id !== res.body[0].booking_id)).toBe(true);
  });

  it("shows a booking to its owner and admins, and 404 to anyone else", async () => {
    const { booking } = await bookOne();
    expect((await api("GET", `/api/v1/bookings/${booking.booking_id}`, { token: owner.token })).status).toBe(200);
    expect((await api("GET", `/api/v1/bookings/${booking.booking_id}`, { token: admin.token })).status).toBe(200);
    const other = await api("GET", `/api/v1/bookings/${booking.booking_id}`, { token: stranger.token });
    expect(other.status).toBe(404);
    expect(other.body.code).toBe("BOOKING_NOT_FOUND");
    expect((await api("GET", `/api/v1/bookings/${booking.booking_id}`)).status).toBe(401);
  });
});

describe("cancelling", () => {
  it("cancels, frees the seat, writes a seat.released outbox row, and refuses a second cancel with 409", async () => {
    const { event, booking } = await bookOne(3, 2);
    const res = await api("DELETE", `/api/v1/bookings/cancel/${booking.booking_id}`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ booking_id: booking.booking_id, status: "CANCELLED", seat_number: 2 });
    expect(res.body.cancelled_at).not.toBeNull();
    expect((await seatInvariants(event.id)).available).toBe(3);
    const released = await sql`select payload from outbox where stream = 'seat.released'
                                     and (payload->>'event_id')::bigint = ${event.id}`;
    expect(released.map((r) => r.payload)).toEqual([
      expect.objectContaining({ event_id: event.id, seat_number: 2, reason: "cancelled" }),
    ]);
    const again = await api("DELETE", `/api/v1/bookings/cancel/${booking.booking_id}`, { token: owner.token });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe("BOOKING_ALREADY_CANCELLED");
    expect((await api("POST", `/api/v1/events/${event.id}/book/2`, { token: stranger.token })).status).toBe(201);
  });

  it("answers 404 to someone else's cancel and changes nothing; an admin may cancel", async () => {
    const { event, booking } = await bookOne();
    const res = await api("DELETE", `/api/v1/bookings/cancel/${booking.booking_id}`, { token: stranger.token });
    expect(res.status).toBe(404);
    expect((await seatInvariants(event.id)).booked).toBe(1);
    expect((await api("DELETE", `/api/v1/bookings/cancel/${booking.booking_id}`, { token: admin.token })).status).toBe(
      200,
    );
  });

  it("answers 404 for an unknown booking and 422 for a bad id", async () => {
    expect((await api("DELETE", "/api/v1/bookings/cancel/99999999", { token: owner.token })).status).toBe(404);
    expect((await api("DELETE", "/api/v1/bookings/cancel/-1", { token: owner.token })).status).toBe(422);
  });

  it("still cancels after the event has started only for admins", async () => {
    const { event, booking } = await bookOne();
    await startEvent(event.id);
    const res = await api("DELETE", `/api/v1/bookings/cancel/${booking.booking_id}`, { token: owner.token });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("EVENT_STARTED");
    expect((await api("DELETE", `/api/v1/bookings/cancel/${booking.booking_id}`, { token: admin.token })).status).toBe(
      200,
    );
  });

  const subscribeToCancels = async () => {
    const hook = await api("POST", "/api/v1/webhooks", {
      token: admin.token,
      body: { url: "https://203.0.113.10/hooks/evently", events: ["booking.cancelled"] },
    });
    expect(hook.status).toBe(201);
  };

  const cancelledRow = async (eventId: number) => {
    const rows = await sql<{ payload: { type: string; data: Record<string, unknown> } }[]>`
      select payload from outbox where stream = 'domain.events' and payload->>'type' = 'booking.cancelled'
        and (payload->>'event_id')::bigint = ${eventId}`;
    expect(rows).toHaveLength(1);
    return rows[0]?.payload.data;
  };

  it("writes booking.cancelled only while a webhook subscription wants it; seat.released always", async () => {
    await sql`update webhook_subscriptions set disabled_at = now(), disabled_reason = 'test' where disabled_at is null`;
    const { event, booking } = await bookOne(2, 1);
    expect((await api("DELETE", `/api/v1/bookings/cancel/${booking.booking_id}`, { token: owner.token })).status).toBe(
      200,
    );
    const rows = await sql<{ stream: string }[]>`select stream from outbox where stream <> 'event.changed'
                                                  and (payload->>'event_id')::bigint = ${event.id}`;
    expect(rows.map((r) => r.stream)).toEqual(["seat.released"]);
  });

  it("announces booking.cancelled with the booking exactly as answered, who cancelled, and no waitlist offer", async () => {
    await subscribeToCancels();
    const { event, booking } = await bookOne(2, 1);
    const res = await api("DELETE", `/api/v1/bookings/cancel/${booking.booking_id}`, { token: admin.token });
    expect(res.status).toBe(200);
    expect(new Date(res.body.cancelled_at).getTime()).toBeGreaterThanOrEqual(new Date(res.body.created_at).getTime());
    expect(await cancelledRow(event.id)).toEqual({
      ...res.body,
      user_id: owner.id,
      cancelled_by: admin.id,
      seat_offered_to_waitlist: false,
    });
    const live = await sql`select status, version from seats where event_id = ${event.id} and seat_number = 1`;
    expect(live[0]).toMatchObject({ status: "AVAILABLE", version: 2 });
  });

  it("hands the seat to the head of the waitlist and announces the same booking with seat_offered_to_waitlist", async () => {
    const { event, booking } = await bookOne(1, 1);
    expect((await api("POST", `/api/v1/waitlist/${event.id}`, { token: stranger.token })).status).toBe(201);
    const res = await api("DELETE", `/api/v1/bookings/cancel/${booking.booking_id}`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(await cancelledRow(event.id)).toEqual({
      ...res.body,
      user_id: owner.id,
      cancelled_by: owner.id,
      seat_offered_to_waitlist: true,
    });
    const seat = await sql`select status, held_by from seats where event_id = ${event.id}`;
    expect(seat[0]).toMatchObject({ status: "HELD", heldBy: stranger.id });
    const released = await sql`select 1 from outbox where stream = 'seat.released'
                                 and (payload->>'event_id')::bigint = ${event.id}`;
    expect(released).toHaveLength(0);
  });

  it("refuses a cancel behind a concurrent one on the same seat, and the refused one writes nothing", async () => {
    await subscribeToCancels();
    const { event, booking } = await bookOne(2, 2);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        api("DELETE", `/api/v1/bookings/cancel/${booking.booking_id}`, { token: owner.token }),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === "BOOKING_ALREADY_CANCELLED")).toBe(
      true,
    );
    await cancelledRow(event.id);
    const released = await sql`select 1 from outbox where stream = 'seat.released'
                                 and (payload->>'event_id')::bigint = ${event.id}`;
    expect(released).toHaveLength(1);
  });
});
