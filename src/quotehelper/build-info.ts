// What is serving quotes on this node: the helper's version and its quoting backend's (library version,
// QE identity), for /metrics (confcom_quotehelper_build_info), the start-up log, and `addon status`,
// which reads it back from the metrics text with parseBuildInfo.

export const BUILD_INFO_METRIC = "confcom_quotehelper_build_info";

export interface BuildInfo {
  /** The helper's (confcom's) version. */
  version: string;
  /** "simulated" or "dcap". */
  backend: string;
  /** The quoting library's version (DCAP), or the simulator's; "unknown" when it cannot be known. */
  backendVersion: string;
  /** The QE: `mrsigner=…,isvprodid=…,isvsvn=…` where known, else `mrenclave=…` from its target info. */
  qeIdentity: string;
}

export function formatBuildInfo(info: BuildInfo): Record<string, string> {
  return { version: info.version, backend: info.backend, backend_version: info.backendVersion, qe_identity: info.qeIdentity };
}

/**
 * The build info in a Prometheus text exposition (a quote helper's /metrics), or undefined when the
 * gauge is absent. For `addon status`, through the API server's pod proxy.
 */
export function parseBuildInfo(metricsText: string): BuildInfo | undefined {
  const line = metricsText.split("\n").find((l) => l.startsWith(`${BUILD_INFO_METRIC}{`));
  if (!line) return undefined;
  const labels = new Map<string, string>();
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/gy;
  re.lastIndex = BUILD_INFO_METRIC.length + 1;
  for (let m = re.exec(line); m; m = re.exec(line)) {
    labels.set(m[1], m[2].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c)));
    if (line[re.lastIndex] === ",") re.lastIndex++;
  }
  const get = (k: string) => labels.get(k) ?? "unknown";
  if (!labels.has("version")) return undefined;
  return { version: get("version"), backend: get("backend"), backendVersion: get("backend_version"), qeIdentity: get("qe_identity") };
}
