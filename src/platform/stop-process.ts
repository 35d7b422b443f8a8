import type { Subprocess } from "bun";

export interface StopOptions {
  /** Asks the process to stop; SIGTERM by default (nginx wants SIGQUIT for a graceful stop). */
  signal?: NodeJS.Signals;
  /** Sent if it is still running after the grace; SIGKILL by default. */
  force?: NodeJS.Signals;
}

/**
 * Asks a child process to stop, gives it `graceMs` to finish what it is doing, then forces it.
 * Resolves with its exit code (null when a signal ended it) once it has exited; at once if it
 * already had.
 */
export async function stopWithGrace(proc: Subprocess, graceMs: number, opts: StopOptions = {}): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
  proc.kill(opts.signal ?? "SIGTERM");
  const timer = setTimeout(() => proc.kill(opts.force ?? "SIGKILL"), graceMs);
  try {
    await proc.exited;
  } finally {
    clearTimeout(timer);
  }
  return proc.exitCode;
}
