import { describe, expect, it } from "bun:test";
import { runMigrations } from "../../src/db/migrate";
import { sql } from "../../src/platform/db";

describe("migrations", () => {
  it("apply again, from several processes at once, without error or duplicates", async () => {
    const url = process.env.DATABASE_URL as string;
    await Promise.all([runMigrations(url), runMigrations(url), runMigrations(url)]);
    const rows = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    expect(rows[0]?.n).toBe(2);
  });

  it("let the database itself refuse a second BOOKED booking of one seat", async () => {
    const [u] = await sql`insert into users (email, hashed_password) values ('mig@example.test', 'x') returning id`;
    const [e] =
      await sql`insert into events (name, start_time, capacity) values ('M', now() + interval '1 day', 1) returning id`;
    const [s] = await sql`insert into seats (event_id, seat_number) values (${e?.id}, 1) returning id`;
    const book = () =>
      sql.begin(async (tx) => {
        await tx`update seats set status = 'BOOKED' where id = ${s?.id}`;
        await tx`insert into bookings (user_id, event_id, seat_id, seat_number) values (${u?.id}, ${e?.id}, ${s?.id}, 1)`;
      });
    await book();
    const second = await book().catch((err) => err);
    expect(second.code).toBe("23505");
  });

  it("let the database refuse a BOOKED seat without a booking", async () => {
    const [e] =
      await sql`insert into events (name, start_time, capacity) values ('N', now() + interval '1 day', 1) returning id`;
    const err = await sql
      .begin((tx) => tx`insert into seats (event_id, seat_number, status) values (${e?.id}, 1, 'BOOKED')`)
      .catch((x) => x);
    expect(err.code).toBe("23514");
  });
});
