// The one logger. Child loggers per module; never log tokens or message bodies.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid, ...base },
    redact: { paths: ["token", "*.token", "authorization", "*.authorization", "body", "*.body", "prompt", "*.prompt"], censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
