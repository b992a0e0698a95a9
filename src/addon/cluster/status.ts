// `addon status`: the recorded config, what the API server allows, each workload's rollout, each quote
// helper's version and the EPC of each SGX node.
import type { V1DaemonSet, V1Node } from "@kubernetes/client-node";
import { describeRef, type KubeClient } from "../../k8s/client.js";
import { NAMES, type AddonConfig } from "../config.js";
import { QUOTE_HELPER_KEY } from "../manifests/config-map.js";
import { pccsUrl } from "../manifests/simulated.js";
import { webhookServiceHost } from "../manifests/webhook.js";
import { ATTESTATION, attestationServiceUrl } from "../manifests/attestation-service.js";
import { quoteHelperPods } from "./quote-helpers.js";
import { AddonStateError, NOT_ENABLED, readRecorded } from "./recorded.js";
import { isWorkload, rolloutOf } from "./rollout.js";
import { nodeAccessLine, rolloutLine, serverFeatures } from "./server-features.js";

export interface NodeEpc {
  node: string;
  capacity: string;
  allocatable: string;
}

export async function sgxNodes(client: KubeClient, resourceName: string): Promise<NodeEpc[]> {
  const nodes = await client.list<V1Node>("v1", "Node");
  return nodes
    .filter((n) => n.status?.capacity?.[resourceName] !== undefined)
    .map((n) => ({
      node: n.metadata?.name ?? "?",
      capacity: n.status?.capacity?.[resourceName] ?? "0",
      allocatable: n.status?.allocatable?.[resourceName] ?? "0",
    }))
    .sort((a, b) => a.node.localeCompare(b.node));
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
}

/** Impossible to miss: quotes from this cluster prove nothing about any hardware. */
function simulationBanner(config: AddonConfig): string[] {
  const sim = config.simulation!;
  return [
    "  !!! SIMULATED CLUSTER: NO SGX HARDWARE. Enclaves, EPC and quotes are simulated; the quotes verify only",
    `  !!! under the simulated root CA (ConfigMap ${NAMES.simRootCa}), never under Intel's. Do not trust them.`,
    `  simulation: ${sim.epcMiB} MiB of simulated EPC per node, seed ${JSON.stringify(sim.seed)} (not a secret), PCCS ${pccsUrl(config)}`,
  ];
}

export async function addonStatus(client: KubeClient, namespace: string): Promise<string[]> {
  const recorded = await readRecorded(client, namespace);
  if (!recorded) throw new AddonStateError(NOT_ENABLED);
  const { config, objects } = recorded;
  const { features, gitVersion } = await serverFeatures(client);
  // A user who may not read policies still gets the rest of the status.
  const policy = features.nodeScopedPolicy
    ? await client.get({ apiVersion: "admissionregistration.k8s.io/v1", kind: "ValidatingAdmissionPolicy", name: NAMES.pluginNodePolicy }).catch(() => null)
    : null;
  const lines = [
    `Addon "confcom" is enabled in namespace ${namespace}.`,
    ...(config.simulation ? simulationBanner(config) : []),
    `  ${QUOTE_HELPER_KEY}: ${config.quoteHelperEnabled}`,
    `  image: ${config.image}`,
    `  resource: ${config.resourceName}`,
    `  webhook: ${config.webhook.kind === "url" ? config.webhook.url : `https://${webhookServiceHost(config)}`}`,
    `  attestation service: ${config.attestationService ? `${attestationServiceUrl(config)} (collateral from ${config.attestationService.pccsUrl}; CA in Secret ${ATTESTATION.secret}, key ca.crt)` : "off (--enable-attestation-service turns it on)"}`,
    `  provisioning: ${config.provisionAll ? "every EPC allocation hands /dev/sgx_provision (--provision-all)" : "least privilege: /dev/sgx_provision only with kubernetes.azure.com/sgx_provision (the quote helper, in-process quoting containers)"}`,
    `  EPC limits: ${config.enforceEpcLimits ? "annotated for the sgx-epc NRI plugin (--enforce-epc-limits)" : "not enforced on the node (scheduling only)"}`,
    `  API server: ${gitVersion}`,
    `  node access: ${nodeAccessLine(features, policy !== null)}`,
  ];
  if (config.quoteHelperEnabled) {
    const ds = await client.get<V1DaemonSet>({ apiVersion: "apps/v1", kind: "DaemonSet", name: NAMES.quoteHelper, namespace });
    const surge = String(ds?.spec?.updateStrategy?.rollingUpdate?.maxSurge ?? "0") !== "0";
    lines.push(`  quote helper rollout: ${rolloutLine(surge, features)}`);
  }
  lines.push("Workloads:");
  for (const ref of objects.filter(isWorkload)) {
    const st = await rolloutOf(client, ref);
    lines.push(`  ${describeRef(ref)}: ${st.done ? "rolled out" : "rolling out"} (${st.summary})`);
  }
  if (config.quoteHelperEnabled) {
    const pods = await quoteHelperPods(client, namespace).catch((err: Error) => err);
    lines.push("Quote helpers (from each pod's /metrics):");
    if (pods instanceof Error) lines.push(`  cannot list the quote helper pods: ${pods.message.slice(0, 200)}`);
    else if (pods.length === 0) lines.push("  no quote helper pod yet");
    else {
      const dash = (s: string | undefined) => s || "-";
      const rows = pods.map((p) => [p.node, p.pod, dash(p.build?.version), dash(p.build?.backend), dash(p.build?.backendVersion), dash(p.build?.qeIdentity), p.note ?? ""]);
      lines.push(...table([["NODE", "POD", "VERSION", "BACKEND", "BACKEND VERSION", "QE IDENTITY", "NOTE"], ...rows]).map((l) => `  ${l.trimEnd()}`));
    }
  }
  const nodes = await sgxNodes(client, config.resourceName);
  lines.push(`SGX nodes (${config.resourceName}, MiB of EPC):`);
  if (nodes.length === 0) lines.push("  none advertises the resource yet");
  else lines.push(...table([["NODE", "CAPACITY", "ALLOCATABLE"], ...nodes.map((n) => [n.node, n.capacity, n.allocatable])]).map((l) => `  ${l}`));
  return lines;
}
