import pino from "pino";
import { config } from "../config";

/**
 * The one logger: JSON lines on stdout. Secrets are redacted wherever they might appear.
 *
 * Lines are not written one syscall each: they collect in an in-memory buffer that goes out
 * asynchronously once it holds 4 KiB, at least every LOG_FLUSH_INTERVAL_MS (50 ms), and
 * synchronously when the process exits (`process.exit`, a signal handler's exit, a fatal error).
 */
const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });

const flushTimer = setInterval(() => {
  try {
    destination.flush();
  } catch {
    // Not open yet, or closing: the next tick or the exit hook writes it.
  }
}, config.LOG_FLUSH_INTERVAL_MS);
flushTimer.unref?.();

process.on("exit", () => {
  try {
    destination.flushSync();
  } catch {
    // stdout already gone: nothing left to write to.
  }
});

export const logger = pino(
  {
    level: config.LOG_LEVEL,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        "password",
        "*.password",
        "hashed_password",
        "*.hashed_password",
        "access_token",
        "*.access_token",
        "authorization",
        "*.authorization",
        "headers.authorization",
        "*.headers.authorization",
      ],
      censor: "[redacted]",
    },
  },
  destination,
);

export type Logger = typeof logger;

/**
 * A warn logger that writes at most one line per `everyMs`, counting what it left out: an outage
 * (Redis down, say) must not turn every request or reconnect attempt into a log line.
 */
export function throttledWarn(everyMs: number, msg: string): (fields: Record<string, unknown>) => void {
  let last = 0;
  let suppressed = 0;
  return (fields) => {
    const now = Date.now();
    if (now - last < everyMs) {
      suppressed++;
      return;
    }
    logger.warn({ ...fields, suppressed }, msg);
    last = now;
    suppressed = 0;
  };
}
