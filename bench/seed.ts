import type { users } from "../src/db/schema";
import { signAccessToken } from "../src/http/tokens";
import { hashPassword } from "../src/platform/passwords";
import type { Sql } from "./database";

/**
 * Test data. Events go through the API as an admin (the real create path: event row and seats in
 * one transaction). Users go straight into PostgreSQL in one statement with one bcrypt hash, and
 * their tokens are signed here with the stack's JWT_SECRET by the API's own signAccessToken, so
 * that loading thousands of users costs a second instead of thousands of bcrypt rounds.
 */

export const USER_PASSWORD = "bench-password-1";

let calls = 0;
/**
 * The bench's own calls (setup, the waitlist's bookings and cancels) come from addresses of their
 * own, 10.255.x.y, as different clients would: the API's per-address rate limit is on.
 */
export function benchClient(): Record<string, string> {
  const n = calls++ % 65_536;
  return { "x-forwarded-for": `10.255.${n >> 8}.${n & 255}` };
}

export interface BenchUser {
  id: number;
  token: string;
}

async function expectJson<T>(res: Response, status: number, what: string): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

export async function login(baseUrl: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/v1/auth/token`, {
    headers: benchClient(),
    method: "POST",
    body: new URLSearchParams({ username: email, password }),
  });
  const body = await expectJson<{ access_token: string }>(res, 200, `login as ${email}`);
  return body.access_token;
}

let eventSeq = 0;
export async function createEvent(baseUrl: string, adminToken: string, label: string, capacity: number) {
  const res = await fetch(`${baseUrl}/api/v1/events/`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json", ...benchClient() },
    body: JSON.stringify({
      name: `bench ${label} ${Date.now()}-${++eventSeq}`,
      venue: "Bench Hall",
      start_time: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      capacity,
    }),
  });
  const event = await expectJson<{ id: number }>(res, 201, `create event "${label}" (${capacity} seats)`);
  return event.id;
}

/** Inserts `count` users in one statement; ids come back contiguous on a fresh database. */
export async function insertUsers(sql: Sql, count: number, tag: string): Promise<BenchUser[]> {
  const hash = await hashPassword(USER_PASSWORD);
  const rows = await sql<Pick<typeof users.$inferSelect, "id" | "tokenVersion">[]>`
    insert into users (email, full_name, hashed_password)
    select 'bench-' || ${tag} || '-' || g || '@bench.test', 'Bench user ' || g, ${hash}
    from generate_series(1, ${count}::int) g
    order by g
    returning id::int, token_version`;
  return Promise.all(
    rows.map(async (r) => ({ id: r.id, token: await signAccessToken({ id: r.id, tokenVersion: r.tokenVersion }) })),
  );
}

/** Books seat `seat` of the event for the user through the API; returns the booking id. */
export async function bookSeat(baseUrl: string, token: string, eventId: number, seat: number): Promise<number> {
  const res = await fetch(`${baseUrl}/api/v1/events/${eventId}/book/${seat}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, ...benchClient() },
  });
  const body = await expectJson<{ booking_id: number }>(res, 201, `book seat ${seat} of event ${eventId}`);
  return body.booking_id;
}

export async function joinWaitlist(baseUrl: string, token: string, eventId: number, partySize = 1): Promise<void> {
  const res = await fetch(`${baseUrl}/api/v1/waitlist/${eventId}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...benchClient() },
    body: JSON.stringify({ party_size: partySize }),
  });
  await expectJson(res, 201, `join the waitlist of event ${eventId}`);
}

export async function cancelBooking(baseUrl: string, token: string, bookingId: number): Promise<void> {
  const res = await fetch(`${baseUrl}/api/v1/bookings/cancel/${bookingId}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${token}`, ...benchClient() },
  });
  await expectJson(res, 200, `cancel booking ${bookingId}`);
}

export async function fetchText(url: string): Promise<string> {
  const res = await fetch(url, { headers: benchClient() });
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${text.slice(0, 300)}`);
  return text;
}
