import { beforeAll, describe, expect, it } from "bun:test";
import { sql } from "../../src/platform/db";
import { createEvent, seatInvariants, startEvent } from "../support/fixtures";
import { adminToken, api, registerAndLogin } from "../support/http";

let admin: { token: string };
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
});
