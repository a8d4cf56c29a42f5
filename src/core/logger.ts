// The one logger. Child loggers per module; never log tokens or message bodies. JSON lines (pino)
// in production and wherever stdout is not a terminal (pm2, Docker, tests); human-readable lines
// (pino-pretty, a development dependency, loaded only then) in a development terminal.
// LOG_FORMAT (validated with the rest of the config) overrides: json, or pretty where installed.
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

const format = process.env.LOG_FORMAT?.trim().toLowerCase() || "auto";
const wantsPretty = format === "pretty" || (format === "auto" && process.env.NODE_ENV !== "production" && process.stdout.isTTY === true);
// Synchronous, in this thread: pino's transport would add a worker thread to every process, and a
// line written just before an exit must not be lost. Without the package (production installs),
// JSON it is.
const pretty: DestinationStream | undefined = wantsPretty
  ? await import("pino-pretty").then(
      ({ default: build }) => build({ sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "hostname" }),
      () => undefined,
    )
  : undefined;

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  const options = {
    level,
    base: { pid: process.pid, ...base },
    redact: { paths: ["token", "*.token", "authorization", "*.authorization", "body", "*.body", "prompt", "*.prompt"], censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pretty ? pino(options, pretty) : pino(options);
}
