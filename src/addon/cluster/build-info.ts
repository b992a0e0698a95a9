// The quote helper's build_info gauge, read from its /metrics text (Prometheus exposition format):
//   confcom_quotehelper_build_info{version="…",backend="simulated|dcap",backend_version="…",qe_identity="…"} 1
// Hand-written: prom-client writes this format but has no parser, and one gauge needs a few lines.
// Tolerant: an older helper without the gauge, or a malformed line, gives null.
export const BUILD_INFO_METRIC = "confcom_quotehelper_build_info";

export interface QuoteHelperBuild {
  version?: string;
  backend?: string;
  backendVersion?: string;
  qeIdentity?: string;
}

const MAX_LABELS = 32;
const MAX_VALUE = 256;

/** The label set of a sample line `name{a="x",b="y"} 1`, or null when it is not one of `metric`. */
export function parseSampleLabels(line: string, metric: string): Record<string, string> | null {
  if (!line.startsWith(metric)) return null;
  let i = metric.length;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    for (let n = 0; ; n++) {
      while (line[i] === " " || line[i] === ",") i++;
      if (line[i] === "}") {
        i++;
        break;
      }
      if (n >= MAX_LABELS) return null;
      const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i, i + 128))?.[0];
      if (!name || line[i + name.length] !== "=" || line[i + name.length + 1] !== '"') return null;
      i += name.length + 2;
      let value = "";
      for (;;) {
        const c = line[i++];
        if (c === undefined) return null;
        if (c === '"') break;
        if (c === "\\") {
          const e = line[i++];
          value += e === "n" ? "\n" : (e ?? "");
        } else value += c;
      }
      labels[name] = value.slice(0, MAX_VALUE).replace(/[\u0000-\u001f\u007f-\u009f]/g, "?"); // never a terminal escape in status output
    }
  } else if (line[i] !== " ") return null;
  return labels;
}

export function parseBuildInfo(metricsText: string): QuoteHelperBuild | null {
  for (const line of metricsText.split("\n")) {
    const labels = parseSampleLabels(line.trimEnd(), BUILD_INFO_METRIC);
    if (!labels) continue;
    return { version: labels.version, backend: labels.backend, backendVersion: labels.backend_version, qeIdentity: labels.qe_identity };
  }
  return null;
}
