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
