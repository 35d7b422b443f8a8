import { Hono } from "hono";
import { verify } from "hono/jwt";
import postgres from "postgres";

/**
 * The booking scenario's second reference: the smallest app that books a seat the way ours does,
 * on the same runtime and stack (Hono, postgres.js, hono/jwt) and the same database function.
 * `POST /api/v1/events/:id/book/:seat` checks the bearer token's HS256 signature and expiry (no
 * user lookup, no revocation), calls book_seats in one prepared statement on a pool as large as an
 * API process's, and answers 201 with the booking or 409 with the refusal's code. Nothing else: no
 * rate limiter, idempotency, cache invalidation, live updates, metrics or logs. Started by the bench
 * as `bun bench/minimal-booking-server.ts <port>` with DATABASE_URL, JWT_SECRET, DB_POOL_SIZE and
 * MAX_SEATS_PER_USER_PER_EVENT in its environment, one process per API worker (reusePort).
 */
const port = Number(process.argv[2]);
const { DATABASE_URL, JWT_SECRET, DB_POOL_SIZE, MAX_SEATS_PER_USER_PER_EVENT } = process.env;
if (!Number.isInteger(port) || port < 1 || !DATABASE_URL || !JWT_SECRET) {
  process.stderr.write("usage: DATABASE_URL=… JWT_SECRET=… bun bench/minimal-booking-server.ts <port>\n");
  process.exit(2);
}
const sql = postgres(DATABASE_URL, { max: Number(DB_POOL_SIZE ?? 6), onnotice: () => {} });
const maxPerUser = Number(MAX_SEATS_PER_USER_PER_EVENT ?? 10);

type Outcome = { code: string; bookings?: unknown[] };

const app = new Hono();
app.post("/api/v1/events/:id/book/:seat", async (c) => {
  let userId: number;
  try {
    const payload = await verify((c.req.header("authorization") ?? "").replace(/^Bearer /, ""), JWT_SECRET, "HS256");
    userId = Number(payload.sub);
  } catch {
    return c.json({ code: "UNAUTHORIZED" }, 401);
  }
  const [row] = await sql<{ outcome: Outcome }[]>`
    select book_seats(${userId}, ${Number(c.req.param("id"))}, array[${Number(c.req.param("seat"))}]::int[],
      null::int, ${maxPerUser}) as outcome`;
  const outcome = row?.outcome;
  if (outcome?.code !== "OK") return c.json({ code: outcome?.code }, 409);
  return c.json(outcome.bookings?.[0], 201);
});

const server = Bun.serve({ port, hostname: "0.0.0.0", reusePort: true, idleTimeout: 30, fetch: app.fetch });
const stop = async () => {
  server.stop(true);
  await sql.end({ timeout: 2 });
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
