// Structured JSON logs (pino) on stderr, so stdout stays free for command output.
import { pino, type Logger } from "pino";

export type { Logger };

export interface LogOptions {
  level?: string;
  /** Name of the daemon or tool, added to every line as `component`. */
  component: string;
}

export function createLogger(opts: LogOptions): Logger {
  return pino(
    {
      level: opts.level ?? process.env.CONFCOM_LOG_LEVEL ?? "info",
      base: { component: opts.component, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything: for libraries used without a daemon around them, and for tests. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
