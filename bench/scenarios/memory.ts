import { fmt, type Row, skippedRow } from "../report";
import type { BenchContext } from "../setup";
import { peakRssMb } from "../stack";

export const API_RSS_BUDGET_MB = 150;

/**
 * Scenario 6, read last, after every load: the peak resident set (VmHWM) of each API and worker
 * process of the stack, beside the peak of a hello process that served the same read loads.
 * VmHWM is kept by the kernel per process, so nothing has to sample during the run; a process
 * restarted by the supervisor would only report its own life (the notes say if one was).
 */
export function benchMemory(ctx: BenchContext): { rows: Row[]; raw: unknown } {
  const apiScenario = "peak RSS, API process";
  const workerScenario = "peak RSS, worker processes";
  if (!ctx.local) {
    const why = "skipped: the processes are not ours (--url)";
    return {
      rows: [skippedRow("rss_api", apiScenario, why), skippedRow("rss_workers", workerScenario, why)],
      raw: null,
    };
  }
  const children = ctx.local.stack.children();
  const measured = children.map((c) => ({ ...c, peakRssMb: peakRssMb(c.pid) ?? 0 }));
  const helloPeak = Math.max(0, ...ctx.hello.procs.map((t) => peakRssMb(t.proc.pid) ?? 0));
  const api = measured.filter((c) => c.kind === "api");
  const workers = measured.filter((c) => c.kind === "worker");
  const apiPeak = Math.max(0, ...api.map((c) => c.peakRssMb));
  const reference = `Hono hello process: ${fmt.mb(helloPeak)}`;
  const rows: Row[] = [
    {
      key: "rss_api",
      scenario: `${apiScenario} (max of ${api.length})`,
      evently: `${fmt.mb(apiPeak)} (${api.map((c) => fmt.mb(c.peakRssMb)).join(", ")})`,
      reference,
      ratio: fmt.ratio(apiPeak / helloPeak),
      ratioValue: apiPeak / helloPeak,
    },
  ];
  if (workers.length === 0) {
    rows.push(skippedRow("rss_workers", workerScenario, "n/a (no workers running)"));
  } else {
    const workerPeak = Math.max(...workers.map((c) => c.peakRssMb));
    rows.push({
      key: "rss_workers",
      scenario: `${workerScenario} (max of ${workers.length})`,
      evently: workers.map((c) => `${c.name} ${fmt.mb(c.peakRssMb)}`).join(", "),
      reference,
      ratio: fmt.ratio(workerPeak / helloPeak),
      ratioValue: workerPeak / helloPeak,
    });
  }
  return { rows, raw: { processes: measured, helloPeakRssMb: helloPeak, apiPeakRssMb: apiPeak } };
}
