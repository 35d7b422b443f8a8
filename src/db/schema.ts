import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  json,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

export const seatStatus = pgEnum("seat_status", ["AVAILABLE", "HELD", "BOOKED"]);
export const bookingStatus = pgEnum("booking_status", ["PENDING", "BOOKED", "CANCELLED"]);

export const users = pgTable(
  "users",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    email: text("email").notNull(),
    fullName: text("full_name"),
    hashedPassword: text("hashed_password").notNull(),
    isAdmin: boolean("is_admin").notNull().default(false),
    // Bumped on every password change; tokens carry it, so older tokens stop working.
    tokenVersion: integer("token_version").notNull().default(0),
    createdAt: createdAt(),
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
  },
  (t) => [
    // Login and duplicate checks look users up by e-mail; stored lower-case so this is exact.
    uniqueIndex("users_email_key").on(t.email),
    check("users_email_lower", sql`${t.email} = lower(${t.email})`),
  ],
);

export const events = pgTable(
  "events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    name: text("name").notNull(),
    venue: text("venue"),
    description: text("description"),
    startTime: timestamp("start_time", { withTimezone: true }).notNull(),
    endTime: timestamp("end_time", { withTimezone: true }),
    capacity: integer("capacity").notNull(),
    createdBy: bigint("created_by", { mode: "number" }).references(() => users.id),
    createdAt: createdAt(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
    // Soft delete: bookings and analytics keep pointing at the row.
    deletedAt: timestamp("deleted_at", { withTimezone: true }),
  },
  (t) => [
    check("events_capacity_range", sql`${t.capacity} between 1 and 100000`),
    check("events_end_after_start", sql`${t.endTime} is null or ${t.endTime} > ${t.startTime}`),
    // One live event per (name, venue, start): the 409 on duplicates comes from here, race-free.
    uniqueIndex("events_identity_key")
      .on(t.name, sql`coalesce(${t.venue}, '')`, t.startTime)
      .where(sql`${t.deletedAt} is null`),
    // The event list is ordered by start_time and filtered by date range.
    index("events_start_time_idx").on(t.startTime).where(sql`${t.deletedAt} is null`),
  ],
);

export const seats = pgTable(
  "seats",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    eventId: bigint("event_id", { mode: "number" })
      .notNull()
      .references(() => events.id),
    seatNumber: integer("seat_number").notNull(),
    status: seatStatus("status").notNull().default("AVAILABLE"),
    heldBy: bigint("held_by", { mode: "number" }).references(() => users.id),
    holdExpiresAt: timestamp("hold_expires_at", { withTimezone: true }),
    extradata: jsonb("extradata").notNull().default({}),
    // Bumped by a trigger whenever status changes (migrations/0006): live subscribers drop a
    // change older than the one they have (docs/live.md).
    version: integer("version").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    // Booking locks a seat by (event, number); this is also the seat map's order.
    uniqueIndex("seats_event_seat_number_key").on(t.eventId, t.seatNumber),
    check("seats_number_positive", sql`${t.seatNumber} >= 1`),
    // A hold always names its holder and its end; no other state carries them.
    check(
      "seats_hold_consistent",
      sql`(${t.status} = 'HELD') = (${t.heldBy} is not null and ${t.holdExpiresAt} is not null)`,
    ),
    // Availability counts and "best available" picks scan one event's seats by status.
    index("seats_event_status_idx").on(t.eventId, t.status, t.seatNumber),
    // The janitor finds expired offers without scanning all seats.
    index("seats_hold_expiry_idx").on(t.holdExpiresAt).where(sql`${t.status} = 'HELD'`),
  ],
);

export const bookings = pgTable(
  "bookings",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    userId: bigint("user_id", { mode: "number" })
      .notNull()
      .references(() => users.id),
    eventId: bigint("event_id", { mode: "number" })
      .notNull()
      .references(() => events.id),
    // Nulled if an AVAILABLE seat is removed by a capacity shrink; seat_number keeps the history.
    seatId: bigint("seat_id", { mode: "number" }).references(() => seats.id, { onDelete: "set null" }),
    seatNumber: integer("seat_number").notNull(),
    status: bookingStatus("status").notNull().default("BOOKED"),
    createdAt: createdAt(),
    cancelledAt: timestamp("cancelled_at", { withTimezone: true }),
  },
  (t) => [
    // The last line of defence against double booking: at most one BOOKED booking per seat.
    uniqueIndex("bookings_one_booked_per_seat").on(t.seatId).where(sql`${t.status} = 'BOOKED'`),
    // "My bookings", newest first, and per-user limits per event.
    index("bookings_user_idx").on(t.userId, t.eventId),
    // Event booking lists and per-event analytics.
    index("bookings_event_status_idx").on(t.eventId, t.status),
    // The booking function's per-user seat count: an index-only count of this user's BOOKED
    // bookings in the event, as cheap when the event has sold out as when it is empty.
    index("bookings_event_user_booked_idx").on(t.eventId, t.userId).where(sql`${t.status} = 'BOOKED'`),
    // Booking trends group by day over a recent window.
    index("bookings_created_at_idx").on(t.createdAt),
    check("bookings_booked_has_seat", sql`${t.status} <> 'BOOKED' or ${t.seatId} is not null`),
    check("bookings_cancelled_at", sql`(${t.status} = 'CANCELLED') = (${t.cancelledAt} is not null)`),
  ],
);

/**
 * Transactional outbox: rows are written in the same transaction as the change they announce
 * and relayed to Redis streams afterwards, so no event is lost between COMMIT and XADD.
 */
export const outbox = pgTable(
  "outbox",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    stream: text("stream").notNull(),
    payload: jsonb("payload").notNull(),
    createdAt: createdAt(),
    publishedAt: timestamp("published_at", { withTimezone: true }),
    attempts: integer("attempts").notNull().default(0),
  },
  // The relay reads unpublished rows in id order; this partial index stays tiny.
  (t) => [index("outbox_unpublished_idx").on(t.id).where(sql`${t.publishedAt} is null`)],
);

/** Idempotency-Key records, per user; a replay returns the stored status and body. */
export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    userId: bigint("user_id", { mode: "number" })
      .notNull()
      .references(() => users.id),
    key: text("key").notNull(),
    requestHash: text("request_hash").notNull(),
    statusCode: integer("status_code").notNull(),
    // json, not jsonb: a replay must return the first answer byte for byte (jsonb reorders keys).
    responseBody: json("response_body").notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.key] }),
    // Expired keys are purged in batches by expiry.
    index("idempotency_keys_expires_idx").on(t.expiresAt),
  ],
);
