import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

export const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();

export const seatStatus = pgEnum("seat_status", ["AVAILABLE", "HELD", "BOOKED"]);
export const bookingStatus = pgEnum("booking_status", ["PENDING", "BOOKED", "CANCELLED"]);
export const holdStatus = pgEnum("hold_status", ["ACTIVE", "CONFIRMED", "RELEASED", "EXPIRED"]);
/** Who the waitlist serves first when a party does not fit (docs/waitlist.md). */
export const waitlistPolicy = pgEnum("waitlist_policy", ["strict", "first_fit"]);
/**
 * A waitlist offer's life: PENDING while seats gather for a party at the head of the line (not
 * yet shown as an offer), OFFERED once its party fits, then ACCEPTED, DECLINED or EXPIRED.
 * WITHDRAWN ends a PENDING one that was never offered (the party left the line, was seated
 * another way, or the event ended); its gathered seats went back to the line.
 */
export const waitlistOfferStatus = pgEnum("waitlist_offer_status", [
  "PENDING",
  "OFFERED",
  "ACCEPTED",
  "DECLINED",
  "EXPIRED",
  "WITHDRAWN",
]);

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
    waitlistPolicy: waitlistPolicy("waitlist_policy").notNull().default("strict"),
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
    // Set while the seat is HELD by a checkout hold (docs/holds.md); null for a waitlist offer.
    holdId: bigint("hold_id", { mode: "number" }).references((): AnyPgColumn => holds.id),
    // Set while the seat is HELD for a waitlist offer (gathering or offered).
    offerId: bigint("offer_id", { mode: "number" }).references((): AnyPgColumn => waitlistOffers.id),
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
    check("seats_offer_held", sql`${t.offerId} is null or ${t.status} = 'HELD'`),
    index("seats_offer_idx").on(t.offerId).where(sql`${t.offerId} is not null`),
    // Availability counts and "best available" picks scan one event's seats by status.
    index("seats_event_status_idx").on(t.eventId, t.status, t.seatNumber),
    // The janitor finds expired offers without scanning all seats.
    index("seats_hold_expiry_idx").on(t.holdExpiresAt).where(sql`${t.status} = 'HELD'`),
    // Only a HELD seat belongs to a checkout hold.
    check("seats_hold_id_held", sql`${t.holdId} is null or ${t.status} = 'HELD'`),
    // A hold's seats, for confirm, release and expiry.
    index("seats_hold_id_idx").on(t.holdId).where(sql`${t.holdId} is not null`),
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
    // The checkout hold this booking confirmed (docs/holds.md): confirming twice answers these.
    holdId: bigint("hold_id", { mode: "number" }).references((): AnyPgColumn => holds.id),
    createdAt: createdAt(),
    cancelledAt: timestamp("cancelled_at", { withTimezone: true }),
  },
  (t) => [
    // The last line of defence against double booking: at most one BOOKED booking per seat.
    uniqueIndex("bookings_one_booked_per_seat").on(t.seatId).where(sql`${t.status} = 'BOOKED'`),
    // "My bookings", newest first, and per-user limits per event.
    index("bookings_user_idx").on(t.userId, t.eventId),
    // The booking function's per-user seat count, and an event's booking list. Not partial on
    // purpose: see migrations/0009 (one usable index per lookup, whatever the statistics say).
    index("bookings_event_user_idx").on(t.eventId, t.userId),
    // An event's recent cancellations (the waitlist's wait estimate); only cancelled rows.
    index("bookings_event_cancelled_idx").on(t.eventId, t.cancelledAt).where(sql`${t.status} = 'CANCELLED'`),
    // Booking trends group by day over a recent window.
    index("bookings_created_at_idx").on(t.createdAt),
    index("bookings_hold_id_idx").on(t.holdId).where(sql`${t.holdId} is not null`),
    check("bookings_booked_has_seat", sql`${t.status} <> 'BOOKED' or ${t.seatId} is not null`),
    check("bookings_cancelled_at", sql`(${t.status} = 'CANCELLED') = (${t.cancelledAt} is not null)`),
  ],
);

/**
 * Checkout holds (docs/holds.md): seats held for one user for a while, then confirmed into
 * bookings, released, or expired by the janitor. The seats point at their hold (seats.hold_id)
 * while HELD; the bookings a confirm made point at it too (bookings.hold_id).
 */
export const holds = pgTable(
  "holds",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    // The capability a client uses to address the hold: random, unguessable, unique.
    token: text("token").notNull(),
    userId: bigint("user_id", { mode: "number" })
      .notNull()
      .references(() => users.id),
    eventId: bigint("event_id", { mode: "number" })
      .notNull()
      .references(() => events.id),
    // The seats held when it was made (ascending); kept after the hold ends, for GET.
    seatNumbers: integer("seat_numbers").array().notNull(),
    status: holdStatus("status").notNull().default("ACTIVE"),
    extensions: integer("extensions").notNull().default(0),
    createdAt: createdAt(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    // When it was confirmed, released or expired.
    endedAt: timestamp("ended_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("holds_token_key").on(t.token),
    check("holds_ended_at", sql`(${t.status} = 'ACTIVE') = (${t.endedAt} is null)`),
    check("holds_extensions_range", sql`${t.extensions} >= 0`),
    // The per-user cap counts a user's live holds in one event.
    index("holds_user_event_active_idx").on(t.eventId, t.userId).where(sql`${t.status} = 'ACTIVE'`),
    // The janitor finds expired holds by their end.
    index("holds_active_expiry_idx").on(t.expiresAt).where(sql`${t.status} = 'ACTIVE'`),
  ],
);

/**
 * Waitlist offers (docs/waitlist.md): seats HELD for one party from the line. At most one live
 * (PENDING or OFFERED) offer per user per event, enforced here, so no retry or crashed promoter
 * can offer anyone twice. `seat_numbers` keeps what was offered after the seats moved on.
 */
export const waitlistOffers = pgTable(
  "waitlist_offers",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    eventId: bigint("event_id", { mode: "number" })
      .notNull()
      .references(() => events.id),
    userId: bigint("user_id", { mode: "number" })
      .notNull()
      .references(() => users.id),
    partySize: integer("party_size").notNull(),
    seatNumbers: integer("seat_numbers").array().notNull().default(sql`'{}'`),
    status: waitlistOfferStatus("status").notNull().default("PENDING"),
    createdAt: createdAt(),
    offeredAt: timestamp("offered_at", { withTimezone: true }),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    answeredAt: timestamp("answered_at", { withTimezone: true }),
  },
  (t) => [
    uniqueIndex("waitlist_offers_one_live_per_user")
      .on(t.eventId, t.userId)
      .where(sql`${t.status} in ('PENDING', 'OFFERED')`),
    // The janitor finds due offers; gathering ones end with their event.
    index("waitlist_offers_live_expiry_idx").on(t.expiresAt).where(sql`${t.status} in ('PENDING', 'OFFERED')`),
    index("waitlist_offers_user_idx").on(t.userId, t.createdAt),
    index("waitlist_offers_event_idx").on(t.eventId, t.status),
    check("waitlist_offers_party_positive", sql`${t.partySize} >= 1`),
    check("waitlist_offers_offered_at", sql`${t.status} in ('PENDING', 'WITHDRAWN') or ${t.offeredAt} is not null`),
    check("waitlist_offers_answered_at", sql`(${t.status} in ('PENDING', 'OFFERED')) = (${t.answeredAt} is null)`),
  ],
);

/** Every status an offer went through, with when: the funnel and the release rate read this. */
export const waitlistOfferEvents = pgTable(
  "waitlist_offer_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    offerId: bigint("offer_id", { mode: "number" })
      .notNull()
      .references(() => waitlistOffers.id),
    eventId: bigint("event_id", { mode: "number" }).notNull(),
    status: waitlistOfferStatus("status").notNull(),
    seatCount: integer("seat_count").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("waitlist_offer_events_event_idx").on(t.eventId, t.status, t.at)],
);

/** One row per join of a waitlist (the line itself lives in Redis): the funnel's first step. */
export const waitlistJoins = pgTable(
  "waitlist_joins",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    eventId: bigint("event_id", { mode: "number" })
      .notNull()
      .references(() => events.id),
    userId: bigint("user_id", { mode: "number" })
      .notNull()
      .references(() => users.id),
    partySize: integer("party_size").notNull(),
    joinedAt: timestamp("joined_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("waitlist_joins_event_idx").on(t.eventId, t.joinedAt)],
);
