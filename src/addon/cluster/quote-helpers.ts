// `addon status`: each quote helper pod's version and quoting backend, read from its /metrics through
// the API server's pod proxy, so that an Intel platform or DCAP update can be watched rolling through.
import type { V1Pod } from "@kubernetes/client-node";
import type { KubeClient } from "../../k8s/client.js";
import { NAMES, PORTS } from "../config.js";
import { selectorLabels } from "../manifests/common.js";
import { parseBuildInfo, type QuoteHelperBuild } from "./build-info.js";

export interface QuoteHelperPod {
  node: string;
  pod: string;
  phase: string;
  build: QuoteHelperBuild | null;
  /** Why there is no build: not running, metrics unreachable, or no build_info gauge. */
  note?: string;
}

const MAX_METRICS_BYTES = 1 << 20;
const PROXY_TIMEOUT_MS = 5000;
/** Pods asked at once: a large cluster's status must not flood its API server. */
const CONCURRENCY = 8;

export function metricsProxyPath(namespace: string, pod: string, port = PORTS.quoteHelperMetrics): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}:${port}/proxy/metrics`;
}

const short = (s: string) => (s.length > 120 ? `${s.slice(0, 120)}…` : s);

async function readPod(client: KubeClient, namespace: string, p: V1Pod): Promise<QuoteHelperPod> {
  const base = { node: p.spec?.nodeName ?? "(unscheduled)", pod: p.metadata?.name ?? "?", phase: p.status?.phase ?? "Unknown" };
  if (base.phase !== "Running") return { ...base, build: null, note: base.phase };
  try {
    const text = await client.getText(metricsProxyPath(namespace, base.pod), { maxBytes: MAX_METRICS_BYTES, timeoutMs: PROXY_TIMEOUT_MS });
    const build = parseBuildInfo(text);
    return build ? { ...base, build } : { ...base, build: null, note: "no build_info gauge (an older quote helper)" };
  } catch (err) {
    return { ...base, build: null, note: `metrics unreachable: ${short((err as Error).message)}` };
  }
}

export async function quoteHelperPods(client: KubeClient, namespace: string): Promise<QuoteHelperPod[]> {
  const selector = Object.entries(selectorLabels(NAMES.quoteHelper)).map(([k, v]) => `${k}=${v}`).join(",");
  const pods = await client.list<V1Pod>("v1", "Pod", { namespace, labelSelector: selector });
  const out: QuoteHelperPod[] = new Array(pods.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < pods.length; i = next++) out[i] = await readPod(client, namespace, pods[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, pods.length) }, worker));
  return out.sort((a, b) => a.node.localeCompare(b.node) || a.pod.localeCompare(b.pod));
}
