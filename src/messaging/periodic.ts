import { errorMessage } from "../platform/error-message";
import { type Logger, logger } from "../platform/logger";
import { WakeableSleep } from "../platform/sleep";
import type { Stoppable } from "./worker-runner";

export interface PeriodicJob {
  name: string;
  everyMs: number;
  /** One run. Runs never overlap within a process; across replicas, guard the work itself
   * (FOR UPDATE SKIP LOCKED, or pg_try_advisory_xact_lock for leader-only jobs). */
  run: (log: Logger) => Promise<void>;
}

/**
 * Runs a job now and then every `everyMs` after the previous run ended (so a slow run delays the
 * next instead of stacking). A failed run is logged and the schedule goes on. stop() lets the
 * run in progress finish. Returns a Stoppable for runWorker.
 */
export function startPeriodic(job: PeriodicJob): Stoppable {
  const log = logger.child({ job: job.name });
  let stopped = false;
  const pause = new WakeableSleep();
  const done = (async () => {
    while (!stopped) {
      try {
        await job.run(log);
      } catch (err) {
        log.warn({ err: errorMessage(err) }, "periodic job failed; next run on schedule");
      }
      if (!stopped) await pause.sleep(job.everyMs);
    }
  })();
  return {
    done,
    stop: async () => {
      stopped = true;
      pause.wake();
      await done;
    },
  };
}
