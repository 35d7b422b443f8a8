import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import postgres from "postgres";
import { signAccessToken } from "../../src/http/tokens";
import { metricValue } from "../support/metrics-text";
import { missingPgBinaries, PgPrimaryReplica } from "../support/pg-pair";
import { type ApiGroup, startApiProcesses } from "../support/processes";
import { remote } from "../support/remote-api";
import { waitFor } from "../support/wait";

/**
 * A real PostgreSQL streaming replica (a private primary + pg_basebackup -R clone) behind two API
 * processes (DATABASE_URL = primary, DATABASE_READ_URL = replica): the replica answers analytics,
 * event lists and seat maps; nobody ever reads an answer older than their own write (replay paused
 * on the replica); a dead replica sends those reads to the primary and /ready says so.
 */

const missing = missingPgBinaries();
if (missing.length > 0)
  throw new Error(`tests/scale/read-replica.test.ts needs ${missing.join(", ")} in /usr/lib/postgresql/15/bin`);

const pair = new PgPrimaryReplica();
let primary: postgres.Sql;
let replica: postgres.Sql;
let group: ApiGroup;
let adminTok: string;

async function user(isAdmin = false): Promise<{ id: number; token: string }> {
  const email = `replica-${Date.now()}-${Math.random().toString(36).slice(2)}@example.test`;
  const [row] = await primary<{ id: number; token_version: number }[]>`
    insert into users (email, full_name, hashed_password, is_admin)
    values (${email}, 'r', 'x', ${isAdmin}) returning id, token_version`;
  if (!row) throw new Error("insert user");
  return { id: Number(row.id), token: await signAccessToken({ id: Number(row.id), tokenVersion: row.token_version }) };
}

/**
 * Waits until the primary is quiet (every outbox row published: the relay's UPDATE after a change
 * moves the primary's WAL on) and the replica has replayed all of it, so a read that starts now
 * may rightly go to the replica.
 */
async function settled(): Promise<void> {
  await waitFor(async () => {
    const [open] = await primary<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`;
    if ((open?.n ?? 1) > 0) return false;
    const [r] = await replica<{ lsn: string }[]>`select pg_last_wal_replay_lsn()::text as lsn`;
    const [p] = await primary<{ behind: boolean }[]>`
      select pg_wal_lsn_diff(pg_current_wal_flush_lsn(), ${r?.lsn ?? "0/0"}::pg_lsn) > 0 as behind`;
    return p?.behind === false;
  }, "the primary quiet and the replica caught up");
}

/** The read counters once they satisfy `done` (the pool publishes its metrics every 2 s). */
async function readsWhen(done: (r: Awaited<ReturnType<typeof reads>>) => boolean) {
  let last = await reads();
  await waitFor(async () => {
    last = await reads();
    return done(last);
  }, "the reads counted");
  return last;
}

async function reads(): Promise<{ replica: number; behind: number; down: number }> {
  const text = await (await fetch(`${group.metricsUrl}/metrics`)).text();
  return {
    replica: metricValue(text, "evently_db_reads_total", { target: "replica", reason: "caught_up" }),
    behind: metricValue(text, "evently_db_reads_total", { target: "primary", reason: "replica_behind" }),
    down: metricValue(text, "evently_db_reads_total", { target: "primary", reason: "replica_down" }),
  };
}

async function newEvent(capacity = 10): Promise<number> {
  const r = await remote(group.url, "POST", "/api/v1/events", {
    token: adminTok,
    body: {
      name: `Replica ${Date.now()}-${Math.random()}`,
      venue: "Hall R",
      start_time: new Date(Date.now() + 86_400_000).toISOString(),
      capacity,
    },
  });
  expect(r.status).toBe(201);
  return r.body.id;
}

beforeAll(async () => {
  await pair.start();
  primary = postgres(pair.url("primary"), { max: 2, onnotice: () => {} });
  replica = postgres(pair.url("replica"), { max: 2, onnotice: () => {} });
  group = await startApiProcesses(2, {
    DATABASE_URL: pair.url("primary"),
    DATABASE_READ_URL: pair.url("replica"),
    READ_REPLICA_CHECK_MS: "500",
  });
  adminTok = (await user(true)).token;
}, 90_000);

afterAll(async () => {
  await group?.stop();
  await primary?.end({ timeout: 1 });
  await replica?.end({ timeout: 1 });
  await pair.dispose();
}, 60_000);

describe("PostgreSQL read replica", () => {
  it("answers analytics, event lists and seat maps from the replica", async () => {
    const id = await newEvent();
    await waitFor(async () => (await replica`select 1 from events where id = ${id}`).length === 1, "event replicated");
    await settled();
    const before = await reads();
    expect((await remote(group.url, "GET", `/api/v1/events/${id}/seats`)).status).toBe(200);
    expect((await remote(group.url, "GET", `/api/v1/events/${id}/seat-status`)).status).toBe(200);
    expect((await remote(group.url, "GET", `/api/v1/events?name=Replica&limit=5`)).status).toBe(200);
    expect((await remote(group.url, "GET", "/api/v1/analytics/overview", { token: adminTok })).status).toBe(200);
    // Metrics snapshots of the pool are published every 2 s: wait for these four reads to show.
    const after = await readsWhen(
      (a) => a.replica - before.replica + (a.behind - before.behind) + (a.down - before.down) >= 4,
    );
    expect(after.replica - before.replica).toBeGreaterThanOrEqual(4);
    expect(after.behind - before.behind).toBe(0);
    expect((await remote(group.url, "GET", "/ready")).body).toMatchObject({ status: "ok", replica: "ok" });
  }, 60_000);

  it("never shows a client an answer without its own booking while the replica lags (replay paused)", async () => {
    const id = await newEvent(5);
    const buyer = await user();
    await waitFor(
      async () => (await replica`select 1 from seats where event_id = ${id}`).length === 5,
      "seats replicated",
    );
    await pair.replay("pause");
    try {
      const before = await reads();
      const booked = await remote(group.url, "POST", `/api/v1/events/${id}/book/3`, { token: buyer.token });
      expect(booked.status).toBe(201);
      // The replica really is behind: it does not have the booking.
      const [onReplica] = await replica`select status from seats where event_id = ${id} and seat_number = 3`;
      expect(onReplica?.status).toBe("AVAILABLE");

      // Every read the client makes next, on either process, shows it.
      for (let i = 0; i < 6; i++) {
        const seats = await remote(group.url, "GET", `/api/v1/events/${id}/seats`);
        expect(seats.body.find((s: { seat_number: number }) => s.seat_number === 3)?.status).toBe("BOOKED");
        const vector = await remote(group.url, "GET", `/api/v1/events/${id}/seat-status`);
        expect(vector.body.statuses[2]).toBe("B");
        const mine = await remote(group.url, "GET", "/api/v1/bookings", { token: buyer.token });
        expect(mine.body.some((b: { booking_id: number }) => b.booking_id === booked.body.booking_id)).toBe(true);
      }
      // The cancel reads the primary too (the replica would say the booking does not exist yet).
      const cancel = await remote(group.url, "DELETE", `/api/v1/bookings/cancel/${booked.body.booking_id}`, {
        token: buyer.token,
      });
      expect(cancel.status).toBe(200);
      const seats = await remote(group.url, "GET", `/api/v1/events/${id}/seats`);
      expect(seats.body.find((s: { seat_number: number }) => s.seat_number === 3)?.status).toBe("AVAILABLE");
      expect((await readsWhen((a) => a.behind - before.behind >= 2)).behind - before.behind).toBeGreaterThanOrEqual(2);
    } finally {
      await pair.replay("resume");
    }
    // Caught up again: reads go back to the replica.
    await waitFor(
      async () =>
        (await replica`select status from seats where event_id = ${id} and seat_number = 3`)[0]?.status === "AVAILABLE",
      "replay resumed",
    );
    const before = await reads();
    const fresh = await newEvent(3);
    await waitFor(
      async () => (await replica`select 1 from events where id = ${fresh}`).length === 1,
      "event replicated",
    );
    await settled();
    expect((await remote(group.url, "GET", `/api/v1/events/${fresh}/seats`)).status).toBe(200);
    const after = await readsWhen((a) => a.replica > before.replica || a.behind > before.behind);
    expect(after.replica - before.replica).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("sends the replica's reads to the primary when the replica is down, and /ready says so", async () => {
    await pair.killReplica();
    const id = await newEvent(4);
    const buyer = await user();
    expect((await remote(group.url, "POST", `/api/v1/events/${id}/book/1`, { token: buyer.token })).status).toBe(201);
    const seats = await remote(group.url, "GET", `/api/v1/events/${id}/seats`);
    expect(seats.status).toBe(200);
    expect(seats.body[0].status).toBe("BOOKED");
    expect((await remote(group.url, "GET", "/api/v1/analytics/summary", { token: adminTok })).status).toBe(200);
    // Each process checks at most once a second: wait until every answer says so.
    await waitFor(
      async () => {
        const answers = await Promise.all(Array.from({ length: 6 }, () => remote(group.url, "GET", "/ready")));
        return answers.every((a) => a.body?.replica === "down");
      },
      "/ready reporting the replica down",
      10_000,
    );
    expect((await remote(group.url, "GET", "/ready")).body).toMatchObject({
      status: "degraded",
      postgres: "ok",
      replica: "down",
    });
    expect((await readsWhen((a) => a.down >= 1)).down).toBeGreaterThanOrEqual(1);

    await pair.startReplica();
    await waitFor(
      async () => (await remote(group.url, "GET", "/ready")).body?.replica === "ok",
      "replica back",
      20_000,
    );
  }, 60_000);
});
