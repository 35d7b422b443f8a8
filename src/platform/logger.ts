import pino from "pino";
import { config } from "../config";

/** The one logger: JSON lines on stdout. Secrets are redacted wherever they might appear. */
export const logger = pino({
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
});

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
