// Options every daemon shares, declared once so their names, defaults and help stay identical.
import type { Command } from "commander";

export interface DaemonOptions {
  metricsAddr: string;
  logLevel: string;
}

export function addDaemonOptions(cmd: Command, defaultMetricsAddr: string): Command {
  return cmd
    .option("--metrics-addr <host:port>", "serve /metrics, /healthz and /readyz here (port 0 picks a free port)", defaultMetricsAddr)
    .option("--log-level <level>", "trace, debug, info, warn, error or silent", process.env.CONFCOM_LOG_LEVEL ?? "info");
}
