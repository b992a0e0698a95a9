// The quote helper's socket and version metrics, on its registry: is our socket at the path, how often
// it had to be served again and why, handovers, and what build is serving.
import { Counter, Gauge, type Registry } from "../common/prom-client-lite.js";
import { BUILD_INFO_METRIC, formatBuildInfo, type BuildInfo } from "./build-info.js";

export interface SocketMetrics {
  socketOk: Gauge;
  rebinds: Counter<"reason">;
  bindErrors: Counter<"code">;
  handovers: Counter<"role">;
}

export function createSocketMetrics(registry: Registry, build: BuildInfo): SocketMetrics {
  new Gauge({
    name: BUILD_INFO_METRIC,
    help: "The helper's version and its quoting backend's (library version, QE identity); always 1",
    labelNames: ["version", "backend", "backend_version", "qe_identity"] as const,
    registers: [registry],
  }).set(formatBuildInfo(build), 1);
  return {
    socketOk: new Gauge({ name: "confcom_quotehelper_socket_ok", help: "1 while our socket is at the socket path (what /readyz reports)", registers: [registry] }),
    rebinds: new Counter({
      name: "confcom_quotehelper_socket_rebinds_total",
      help: "Times the socket was served again because the path was missing, replaced or not a socket",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    bindErrors: new Counter({
      name: "confcom_quotehelper_socket_bind_errors_total",
      help: "Failed attempts to serve the socket again, by error code",
      labelNames: ["code"] as const,
      registers: [registry],
    }),
    handovers: new Counter({
      name: "confcom_quotehelper_handovers_total",
      help: "Handovers: took-over (from a running helper at start) or handed-over (to a successor)",
      labelNames: ["role"] as const,
      registers: [registry],
    }),
  };
}

/** An errno code as a bounded label value. */
export const errorCode = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,24}$/.test(code) ? code : "other";
};
