import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "./procs";

export interface BenchOptions {
  quick: boolean;
  /** Measured seconds per load (each side of each comparison). */
  durationS: number;
  warmupS: number;
  /** Longest wait for a quiet machine before each scenario (bench/quiet.ts); 0: one 1 s reading, no wait. */
  settleS: number;
  /** Keep-alive connections of the load generator (and pgbench clients, see README). */
  concurrency: number;
  /** Target an already running stack; scenarios that need its database are skipped. */
  url?: string;
  apiWorkers: number;
  /** Use wrk for the plain GET loads when it is installed. */
  useWrk: boolean;
  dbName: string;
  keepDb: boolean;
  outDir: string;
  users: number;
  bookingSeats: number;
  flashUsers: number;
  flashSeats: number;
  flashConcurrency: number;
  seatMapSeats: number;
  waitlistReleases: number;
  /** Live availability: open streams of one event, and the seats sold while they watch. */
  liveSubscribers: number;
  liveSeats: number;
  adminEmail?: string;
  adminPassword?: string;
  /** Run only these scenarios (slugs of their names: "booking", "flash-sale-warm", ...). */
  only?: string[];
}

export const USAGE = `bun run bench [options]

  --quick                   small numbers, whole run under a minute
  --duration <s>            measured seconds per load, each side (default 10, quick 3)
  --warmup <s>              unmeasured seconds before each load (default 2, quick 1)
  --settle <s>              before each scenario, wait up to this long for the machine to be
                            quiet (under 15 % of all cores busy) (default 30, quick 2; 0: only measure 1 s)
  --concurrency <n>         keep-alive connections of the load generator (default 32, quick 16)
  --url <base>              target a running stack (e.g. http://127.0.0.1:3000); scenarios that
                            need its database are skipped. Admin credentials: --admin-email/
                            --admin-password or ADMIN_EMAIL/ADMIN_PASSWORD
  --api-workers <n>         API processes (and hello processes) (default: cores)
  --no-wrk                  plain GET loads with the Bun load generator even if wrk is installed
  --users <n>               users booking in the booking scenario (default 2000, quick 1000)
  --booking-seats <n>       seats of each booking-scenario event (default 100000)
  --flash-users <n>         flash sale buyers (default 1000)
  --flash-seats <n>         flash sale seats (default 500)
  --flash-concurrency <n>   flash sale connections (default 250)
  --seat-map-seats <n>      seat map event size (default 10000)
  --waitlist-releases <n>   parties (of 1-4 seats) whose offers are timed in the waitlist scenario (default 20, quick 8)
  --live-subscribers <n>    live streams watching one event (default 1000, quick 200)
  --live-seats <n>          seats sold while they watch (default 500, quick 50)
  --db-name <name>          bench database, dropped and recreated (default evently_bench)
  --keep-db                 keep the bench database after the run
  --out <dir>               where latest.json and latest.md go (default bench/results, with
                            --only bench/results/partial)
  --only <names>            only these scenarios, comma-separated: booking, hold-confirm,
                            event-reads, flash-sale-warm, flash-sale, seat-map, waitlist, memory,
                            live; goals without a figure say n/a
  --help
`;

const int = (v: string | undefined, name: string, fallback: number, min = 1): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
};

export function parseOptions(argv: string[]): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: "boolean", default: false },
      duration: { type: "string" },
      warmup: { type: "string" },
      settle: { type: "string" },
      concurrency: { type: "string" },
      url: { type: "string" },
      "api-workers": { type: "string" },
      users: { type: "string" },
      "booking-seats": { type: "string" },
      "flash-users": { type: "string" },
      "flash-seats": { type: "string" },
      "flash-concurrency": { type: "string" },
      "seat-map-seats": { type: "string" },
      "waitlist-releases": { type: "string" },
      "live-subscribers": { type: "string" },
      "live-seats": { type: "string" },
      "db-name": { type: "string" },
      "keep-db": { type: "boolean", default: false },
      "no-wrk": { type: "boolean", default: false },
      out: { type: "string" },
      "admin-email": { type: "string" },
      "admin-password": { type: "string" },
      only: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return "help";
  const quick = values.quick === true;
  const flashUsers = int(values["flash-users"], "flash-users", 1000);
  const options: BenchOptions = {
    quick,
    durationS: int(values.duration, "duration", quick ? 3 : 10),
    warmupS: int(values.warmup, "warmup", quick ? 1 : 2, 0),
    settleS: int(values.settle, "settle", quick ? 2 : 30, 0),
    concurrency: int(values.concurrency, "concurrency", quick ? 16 : 32),
    url: values.url?.replace(/\/$/, ""),
    apiWorkers: int(values["api-workers"], "api-workers", os.availableParallelism()),
    useWrk: values["no-wrk"] !== true,
    users: int(values.users, "users", quick ? 1000 : 2000),
    bookingSeats: int(values["booking-seats"], "booking-seats", 100_000),
    flashUsers,
    flashSeats: int(values["flash-seats"], "flash-seats", 500),
    flashConcurrency: Math.min(flashUsers, int(values["flash-concurrency"], "flash-concurrency", 250)),
    seatMapSeats: int(values["seat-map-seats"], "seat-map-seats", 10_000),
    waitlistReleases: int(values["waitlist-releases"], "waitlist-releases", quick ? 8 : 20),
    liveSubscribers: int(values["live-subscribers"], "live-subscribers", quick ? 200 : 1000),
    liveSeats: int(values["live-seats"], "live-seats", quick ? 50 : 500),
    dbName: values["db-name"] ?? "evently_bench",
    keepDb: values["keep-db"] === true,
    // A partial run never replaces the full run's results, which the docs quote.
    outDir: values.out
      ? path.resolve(values.out)
      : path.join(repoRoot, values.only ? "bench/results/partial" : "bench/results"),
    adminEmail: values["admin-email"],
    adminPassword: values["admin-password"],
    only: values.only
      ?.split(",")
      .map((name) => name.trim())
      .filter(Boolean),
  };
  if (options.bookingSeats > 100_000 || options.seatMapSeats > 100_000 || options.flashSeats > 100_000) {
    throw new Error("events hold at most 100000 seats");
  }
  return options;
}
