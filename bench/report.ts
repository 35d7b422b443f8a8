import { mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BenchOptions } from "./options";

/** One line of the table: a figure of Evently beside its reference from the same run. */
export interface Row {
  key: RowKey;
  scenario: string;
  evently: string;
  reference: string;
  ratio: string;
  /** evently / reference (for latencies and memory: the share of the budget or of the reference). */
  ratioValue?: number;
}

/** Every row the bench prints, in order; the test checks that each is there. */
export const ROW_KEYS = [
  "booking",
  "hold_confirm",
  "book_cancel",
  "cached_get",
  "get_redis_down",
  "flash_sale_warm",
  "flash_sale",
  "flash_sale_integrity",
  "seat_map",
  "waitlist",
  "rss_api",
  "rss_workers",
  "live_latency",
  "rss_api_live",
] as const;
export type RowKey = (typeof ROW_KEYS)[number];

export interface Goal {
  goal: string;
  status: "met" | "missed" | "n/a";
  detail: string;
}

export interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

export interface Report {
  date: string;
  machine: Record<string, unknown>;
  options: BenchOptions;
  rows: Row[];
  goals: Goal[];
  checks: Check[];
  notes: string[];
  raw: Record<string, unknown>;
}

const num = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
export const fmt = {
  rps: (n: number) => `${num(n)} req/s`,
  tps: (n: number) => `${num(n)} tx/s`,
  ms: (n: number) => `${n < 10 ? num(n, 1) : num(n)} ms`,
  mb: (n: number) => `${num(n)} MB`,
  kb: (bytes: number) => `${num(bytes / 1024)} KB`,
  pct: (share: number) => `${num(share * 100, 1)} %`,
  ratio: (n: number) => (Number.isFinite(n) ? num(n, 2) : "n/a"),
  count: (n: number) => num(n),
};

export function skippedRow(key: RowKey, scenario: string, why: string): Row {
  return { key, scenario, evently: why, reference: "—", ratio: "—" };
}

export function renderTable(rows: Row[]): string {
  const cells = [
    ["scenario", "Evently", "reference", "ratio"],
    ...rows.map((r) => [r.scenario, r.evently, r.reference, r.ratio]),
  ].map((cols) => cols.map((c) => c.replace(/\|/g, "\\|")));
  const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.map((c) => (c[i] as string).length)));
  const line = (cols: string[]) => `| ${cols.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  const [head, ...body] = cells;
  return [line(head as string[]), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

export function renderGoals(goals: Goal[], checks: Check[]): string {
  return [
    "Goals:",
    ...goals.map((g) => `- ${g.goal}: ${g.status}${g.detail ? ` (${g.detail})` : ""}`),
    "Checks:",
    ...checks.map((c) => `- ${c.check}: ${c.ok ? "ok" : "FAILED"} (${c.detail})`),
  ].join("\n");
}

export function renderMarkdown(report: Report): string {
  const m = report.machine;
  const o = report.options;
  return [
    `# Evently benchmark — ${report.date}`,
    "",
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGb} GB RAM, ${m.os}; Bun ${m.bun}, ${m.postgres}, Redis ${m.redis}.`,
    `Command: \`bun run bench${m.argv ? ` ${m.argv}` : ""}\` — ${o.apiWorkers} API processes, ` +
      `${o.concurrency} connections, ${o.durationS} s measured after ${o.warmupS} s warm-up per side; ` +
      `load average ${m.loadAverageAtStart} at start on ${m.cores} cores.`,
    "",
    renderTable(report.rows),
    "",
    ...report.goals.map((g) => `- Goal: ${g.goal} — **${g.status}**${g.detail ? ` (${g.detail})` : ""}`),
    ...report.checks.map((c) => `- Check: ${c.check} — ${c.ok ? "ok" : "**FAILED**"} (${c.detail})`),
    "",
    "Notes:",
    ...report.notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
}

async function commandOutput(cmd: string[]): Promise<string | undefined> {
  try {
    const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "ignore" });
    const out = await new Response(proc.stdout).text();
    return (await proc.exited) === 0 ? out.trim() : undefined;
  } catch {
    return undefined;
  }
}

export async function machineFacts(postgresVersion: string | undefined, argv: string[], loadAtStart: number) {
  const redisInfo = await commandOutput(["redis-cli", "-h", "127.0.0.1", "INFO", "server"]);
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    bun: Bun.version,
    postgres: postgresVersion ?? "PostgreSQL (version not read)",
    redis: /redis_version:(\S+)/.exec(redisInfo ?? "")?.[1] ?? "unknown",
    git: await commandOutput(["git", "-C", path.resolve(import.meta.dir, ".."), "rev-parse", "--short", "HEAD"]),
    argv: argv.join(" "),
    /** 1-minute load average when the run began: anything above 0 is someone else's work too. */
    loadAverageAtStart: Math.round(loadAtStart * 100) / 100,
  };
}

export async function writeResults(report: Report, outDir: string): Promise<{ json: string; md: string }> {
  mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, "latest.json");
  const md = path.join(outDir, "latest.md");
  await Bun.write(json, `${JSON.stringify(report, null, 2)}\n`);
  await Bun.write(md, renderMarkdown(report));
  return { json, md };
}
