// What is serving quotes on this node: the helper's version and its quoting backend's (library version,
// QE identity), for /metrics (confcom_quotehelper_build_info), the start-up log, and `addon status`,
// which reads it back from the metrics text with parseBuildInfo.
import { realpath } from "node:fs/promises";
import path from "node:path";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../sgx/constants.js";
import { decodeTargetInfo } from "../sgx/report.js";
import type { QuotingBackend } from "../quoting/backend.js";

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

/**
 * The hook a backend may provide to say more than the target info does (DCAP: the QE SVN from a QE
 * report, the library's own version call). Fields it leaves out keep the generic values.
 */
export type BackendIdentityProbe = () => Promise<Partial<Pick<BuildInfo, "backendVersion" | "qeIdentity">>>;

/** The QE's MRENCLAVE from its target info (InitQuoteEx), which every backend can give. */
export async function qeMrEnclave(backend: QuotingBackend): Promise<string> {
  const { targetInfo } = await backend.initQuote(Buffer.from(DEFAULT_ECDSA_ATT_KEY_ID));
  return `mrenclave=${decodeTargetInfo(targetInfo).mrEnclave.toString("hex")}`;
}

/**
 * The version in a shared library's real file name (libsgx_dcap_ql.so.1 -> libsgx_dcap_ql.so.1.20.100.2),
 * found without loading it: the given path, or the soname in the usual library directories.
 */
export async function sharedLibraryVersion(library: string, dirs = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu"]): Promise<string> {
  const candidates = library.includes("/") ? [library] : dirs.map((d) => path.join(d, library));
  for (const c of candidates) {
    const real = await realpath(c).catch(() => undefined);
    const m = real && /\.so\.(\d+(?:\.\d+)*)$/.exec(real);
    if (m) return m[1];
  }
  return "unknown";
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
