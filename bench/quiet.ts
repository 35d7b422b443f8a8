import { readFileSync } from "node:fs";

/*
 * Waits until the machine is quiet before a scenario starts: what the stack still does for the
 * previous scenario (workers draining the outbox and streams of thousands of bookings, notifier
 * lines, autovacuum) would otherwise run during the next one's measurement and be billed to it,
 * while the reference it alternates with did no such work. Busy = the share of all cores not idle
 * (from /proc/stat) over one window; the bench process itself only sleeps meanwhile.
 */

/** What the wait saw: how long it waited, and the last window's busy share. */
export interface Quiet {
  /** Seconds waited. */
  waitedS: number;
  /** Busy share of the last window (0..1). */
  busy: number;
  settled: boolean;
}

const WINDOW_MS = 1_000;

function cpuTimes(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** Busy share under which the machine counts as quiet: an idle stack (9 processes) keeps it near 10 %. */
export const QUIET_BELOW = 0.15;

/** Until one window's busy share is below `threshold`, for at most `maxMs` (0: one window, no wait). */
export async function waitForQuiet(maxMs: number, threshold = QUIET_BELOW): Promise<Quiet> {
  const started = performance.now();
  let busy = 1;
  do {
    const a = cpuTimes();
    await Bun.sleep(WINDOW_MS);
    const b = cpuTimes();
    busy = b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : 0;
    if (busy < threshold) break;
  } while (performance.now() - started < maxMs);
  return { waitedS: (performance.now() - started) / 1000, busy, settled: busy < threshold };
}
