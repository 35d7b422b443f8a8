import os from "node:os";
import { errorMessage } from "../src/platform/error-message";
import { type BenchOptions, parseOptions, USAGE } from "./options";
import { stopAll } from "./procs";
import { QUIET_BELOW, type Quiet, waitForQuiet } from "./quiet";
import {
  type Check,
  fmt,
  type Goal,
  machineFacts,
  type Report,
  type Row,
  type RowKey,
  renderGoals,
  renderTable,
  skippedRow,
  writeResults,
} from "./report";
import { benchBooking } from "./scenarios/booking";
import { benchFlashSale, benchWarmFlashSale, FLASH_P99_BUDGET_MS, WARM_P99_BUDGET_MS } from "./scenarios/flash-sale";
import { benchHolds } from "./scenarios/holds";
import { benchLive, LIVE_BUDGET_MS } from "./scenarios/live";
import { API_RSS_BUDGET_MB, benchMemory } from "./scenarios/memory";
import { benchEventReads, benchSeatMap } from "./scenarios/reads";
import { benchWaitlist, OFFER_BUDGET_MS } from "./scenarios/waitlist";
import { type BenchContext, setUp } from "./setup";
import { peakRssMb } from "./stack";

/**
 * `bun run bench`: starts the real stack on a fresh database (or targets --url), runs each
 * scenario beside its reference, prints one table, and writes bench/results/latest.{json,md}.
 * Exit code 1 when a scenario failed or a correctness check (sold count, oversell) did not hold;
 * performance goals are reported, never enforced.
 */

const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping every process the bench started`);
    // Stopping them makes the scenario in progress fail; the normal path then tears down (and
    // drops the database). The timer is the way out if that path hangs.
    void stopAll(5_000);
    setTimeout(() => process.exit(130), 30_000).unref();
  });
}

type Scenario = { name: string; keys: RowKey[]; run: (ctx: BenchContext) => Promise<ScenarioOutput> };
type ScenarioOutput = { rows: Row[]; checks?: Check[]; raw: unknown };

const single =
  (fn: (ctx: BenchContext) => Promise<{ row: Row; raw: unknown }>) =>
  async (ctx: BenchContext): Promise<ScenarioOutput> => {
    const { row, raw } = await fn(ctx);
    return { rows: [row], raw };
  };

const SCENARIOS: Scenario[] = [
  { name: "booking", keys: ["booking"], run: single(benchBooking) },
  { name: "hold → confirm", keys: ["hold_confirm", "book_cancel"], run: benchHolds },
  { name: "event reads", keys: ["cached_get", "get_redis_down"], run: benchEventReads },
  { name: "flash sale, warm", keys: ["flash_sale_warm"], run: benchWarmFlashSale },
  { name: "flash sale", keys: ["flash_sale", "flash_sale_integrity"], run: benchFlashSale },
  { name: "seat map", keys: ["seat_map"], run: single(benchSeatMap) },
  { name: "waitlist", keys: ["waitlist"], run: single(benchWaitlist) },
  { name: "memory", keys: ["rss_api", "rss_workers"], run: async (ctx) => benchMemory(ctx) },
  // After memory: a thousand open streams would raise the API's peak that row compares.
  { name: "live", keys: ["live_latency", "rss_api_live"], run: benchLive },
];

/** A scenario's name for `--only`: "flash sale, warm" → "flash-sale-warm", "hold → confirm" → "hold-confirm". */
const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");

/** The scenarios `--only` names (all without it); an unknown name is an error, not an empty run. */
function selectedScenarios(only: string[] | undefined): Scenario[] {
  if (!only) return SCENARIOS;
  const known = SCENARIOS.map((s) => slug(s.name));
  const unknown = only.filter((name) => !known.includes(name));
  if (unknown.length > 0)
    throw new Error(`--only: unknown scenario ${unknown.join(", ")} (known: ${known.join(", ")})`);
  return SCENARIOS.filter((s) => only.includes(slug(s.name)));
}

/** Why a goal cannot be judged: the row's own explanation, without a second "n/a". */
const why = (row: Row | undefined) => (row?.evently ?? "no figure").replace(/^n\/a \((.*)\)$/, "$1");

function goalsFrom(rows: Row[]): Goal[] {
  const byKey = new Map(rows.map((r) => [r.key, r]));
  const atLeast = (key: RowKey, goal: string, min: number): Goal => {
    const v = byKey.get(key)?.ratioValue;
    if (v === undefined || !Number.isFinite(v)) return { goal, status: "n/a", detail: why(byKey.get(key)) };
    return { goal, status: v >= min ? "met" : "missed", detail: `ratio ${fmt.ratio(v)}` };
  };
  const p99Below = (key: RowKey, budgetMs: number): Goal => {
    const goal = `${key === "flash_sale_warm" ? "warm flash sale" : "flash sale"} p99 < ${budgetMs} ms`;
    const p99 = Number(/p99 ([\d,.]+) ms/.exec(byKey.get(key)?.evently ?? "")?.[1]?.replace(/,/g, ""));
    if (!Number.isFinite(p99)) return { goal, status: "n/a", detail: why(byKey.get(key)) };
    return { goal, status: p99 < budgetMs ? "met" : "missed", detail: `p99 ${p99} ms` };
  };
  const waitlist = byKey.get("waitlist");
  const live = byKey.get("live_latency");
  const rss = byKey.get("rss_api");
  const apiPeak = Number(/^([\d,.]+) MB/.exec(rss?.evently ?? "")?.[1]?.replace(/,/g, ""));
  return [
    atLeast("booking", "booking >= 0.35 of the seed transaction's pgbench", 0.35),
    p99Below("flash_sale_warm", WARM_P99_BUDGET_MS),
    p99Below("flash_sale", FLASH_P99_BUDGET_MS),
    atLeast("cached_get", "cached GET >= 0.6 of hello", 0.6),
    waitlist?.ratioValue === undefined
      ? { goal: `release → offer p99 (parties of 1–4) < ${OFFER_BUDGET_MS} ms`, status: "n/a", detail: why(waitlist) }
      : {
          goal: `release → offer p99 (parties of 1–4) < ${OFFER_BUDGET_MS} ms`,
          status: waitlist.ratioValue < 1 ? "met" : "missed",
          detail: waitlist.evently,
        },
    live?.ratioValue === undefined
      ? { goal: `live change → delivered p99 < ${LIVE_BUDGET_MS} ms`, status: "n/a", detail: why(live) }
      : {
          goal: `live change → delivered p99 < ${LIVE_BUDGET_MS} ms`,
          status: live.ratioValue < 1 ? "met" : "missed",
          detail: live.evently,
        },
    Number.isFinite(apiPeak)
      ? {
          goal: `API RSS < ${API_RSS_BUDGET_MB} MB`,
          status: apiPeak < API_RSS_BUDGET_MB ? "met" : "missed",
          detail: fmt.mb(apiPeak),
        }
      : { goal: `API RSS < ${API_RSS_BUDGET_MB} MB`, status: "n/a", detail: why(rss) },
  ];
}

function apiPeakRss(ctx: BenchContext): number {
  const api = ctx.local?.stack.children().filter((c) => c.kind === "api") ?? [];
  return Math.round(Math.max(0, ...api.map((c) => peakRssMb(c.pid) ?? 0)));
}

/** The command line as recorded in the results, without the admin password. */
function redactArgs(args: string[]): string[] {
  return args.map((a, i) =>
    args[i - 1] === "--admin-password" ? "[redacted]" : a.replace(/^(--admin-password=).*/, "$1[redacted]"),
  );
}

/** Which generator measured the plain GET rows (both sides of a comparison always use the same). */
function generatorNote(raw: Record<string, unknown>): string {
  const reads = raw["event reads"] as { api?: { generator?: string }; roundRatios?: number[] } | undefined;
  const generator =
    reads?.api?.generator === "wrk"
      ? "Plain GET rows (event, hello, Redis down, seat map) measured with wrk -t1; the others with scripts/bench/loadgen.ts."
      : "Every row measured with scripts/bench/loadgen.ts (wrk not installed, or --no-wrk).";
  const listed = (rounds: number[]) => rounds.map((r) => r.toFixed(2)).join(", ");
  const booking = (raw.booking as { roundRatios?: number[] } | undefined)?.roundRatios ?? [];
  const rounds = reads?.roundRatios ?? [];
  const parts = [generator];
  if (booking.length > 1) {
    parts.push(
      `Booking alternates the API and the seed transaction's pgbench in ${booking.length} rounds (round ratios: ${listed(booking)}); its ratio is the rounds' median.`,
    );
  }
  if (rounds.length > 1) {
    parts.push(
      `Cached GET and seat map alternate Evently and reference in ${rounds.length} rounds (cached GET round ratios: ${listed(rounds)}); their ratio is the rounds' median.`,
    );
  }
  return parts.join(" ");
}

async function run(options: BenchOptions, argv: string[]): Promise<number> {
  const started = performance.now();
  const loadAtStart = os.loadavg()[0] ?? 0;
  const rows: Row[] = [];
  const checks: Check[] = [];
  const notes: string[] = [];
  const raw: Record<string, unknown> = {};
  let failed = false;
  let postgresVersion: string | undefined;
  // Which load pushed the API's peak memory up: VmHWM only grows, so read it after each scenario.
  const peakRssAfter: Record<string, number> = {};
  const quietBefore: Record<string, Quiet> = {};
  const busyStarts: string[] = [];

  // Before anything starts: an unknown --only name fails at once.
  const scenarios = selectedScenarios(options.only);
  const ctx = await setUp(options, log);
  try {
    if (ctx.local) {
      const [v] = await ctx.local.sql<{ version: string }[]>`select version()`;
      postgresVersion = v?.version.split(" on ")[0];
    } else {
      notes.push(`--url ${options.url}: scenarios that need the stack's database or processes are skipped.`);
    }
    if (ctx.local) peakRssAfter.setup = apiPeakRss(ctx);
    for (const scenario of scenarios) {
      if (interrupted) break;
      const quiet = await waitForQuiet(options.settleS * 1000);
      quietBefore[scenario.name] = quiet;
      if (!quiet.settled) busyStarts.push(`${scenario.name} (${fmt.pct(quiet.busy)})`);
      log(
        `running: ${scenario.name} (machine ${Math.round(quiet.busy * 100)} % busy after ${quiet.waitedS.toFixed(0)} s)`,
      );
      try {
        const out = await scenario.run(ctx);
        rows.push(...out.rows);
        checks.push(...(out.checks ?? []));
        raw[scenario.name] = out.raw;
      } catch (err) {
        failed = true;
        const message = errorMessage(err).split("\n")[0] ?? "failed";
        log(`${scenario.name} failed: ${(err instanceof Error && err.stack) || message}`);
        for (const key of scenario.keys) rows.push(skippedRow(key, key, `FAILED: ${message}`));
        raw[scenario.name] = { error: errorMessage(err) };
      }
      if (ctx.local) peakRssAfter[scenario.name] = apiPeakRss(ctx);
    }
    raw.apiPeakRssMbAfterScenario = peakRssAfter;
    raw.quietBeforeScenario = quietBefore;
    if (busyStarts.length > 0) {
      notes.push(
        `started on a busy machine (still ${Math.round(QUIET_BELOW * 100)} % or more of all cores busy after --settle ${options.settleS} s; something else is running, their figures are lower than they should be): ${busyStarts.join(", ")}`,
      );
    }
    if (ctx.local) {
      const restarted = ctx.local.initialChildren.filter(
        (c) => !ctx.local?.stack.children().some((n) => n.pid === c.pid),
      );
      if (restarted.length > 0) {
        notes.push(
          `restarted during the run (their peak RSS covers only the new life): ${restarted.map((c) => c.name).join(", ")}`,
        );
      }
    }
  } finally {
    log(ctx.local ? "stopping the stack" : "stopping the hello pool");
    await ctx.teardown();
  }

  // A reference that could not be measured leaves its row without a ratio: the run is incomplete.
  if (rows.some((r) => r.evently.startsWith("FAILED") || r.reference.startsWith("FAILED"))) failed = true;
  if (interrupted) {
    log("interrupted: no results written");
    return 130;
  }
  const goals = goalsFrom(rows);
  notes.push(
    "Ratios are Evently / reference, both measured back-to-back in this run with the same load settings; absolute numbers on a shared 2-core machine are noisy.",
    "The load generator (scripts/bench/loadgen.ts) runs in its own process on the same machine as the server, as pgbench does for its side.",
    `pgbench clients = min(connections, API_WORKERS × DB_POOL_SIZE): the number of booking transactions the API can have in flight.`,
    generatorNote(raw),
    ...(Object.keys(peakRssAfter).length > 0
      ? [
          `API peak RSS (MB) after each step, to tell which load raised it: ${Object.entries(peakRssAfter)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")}.`,
        ]
      : []),
    `Run took ${Math.round((performance.now() - started) / 1000)} s.`,
  );
  const report: Report = {
    date: new Date().toISOString(),
    machine: await machineFacts(postgresVersion, redactArgs(argv), loadAtStart),
    options: { ...options, adminPassword: options.adminPassword && "[redacted]" },
    rows,
    goals,
    checks,
    notes,
    raw,
  };
  const files = await writeResults(report, options.outDir);
  process.stdout.write(
    `\n${renderTable(rows)}\n\n${renderGoals(goals, checks)}\n\nWrote ${files.md} and ${files.json}\n`,
  );
  return failed || checks.some((c) => !c.ok) ? 1 : 0;
}

const argv = process.argv.slice(2);
let code = 1;
try {
  const options = parseOptions(argv);
  if (options === "help") {
    process.stdout.write(USAGE);
    code = 0;
  } else {
    code = await run(options, argv);
  }
} catch (err) {
  process.stderr.write(`bench failed: ${(err instanceof Error && err.stack) || errorMessage(err)}\n`);
} finally {
  await stopAll(5_000);
}
process.exit(interrupted ? 130 : code);
