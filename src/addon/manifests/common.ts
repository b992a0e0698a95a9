// Pieces every add-on object shares: metadata and labels, SGX node targeting, the hardened container.
import type { V1Affinity, V1Container, V1DaemonSet, V1ObjectMeta, V1PodSpec, V1Probe, V1Toleration } from "@kubernetes/client-node";
import { ADDON_NAME, type AddonConfig } from "../config.js";
import { DAEMON_ENV, DAEMON_NODE_FLAGS, DAEMON_NODE_OPTIONS, NODE_FLAGS_ENV, WEBHOOK_NODE_OPTIONS } from "../../common/node-options.js";

/** An object the add-on creates: apiVersion, kind and metadata are always set. */
export interface AddonObject {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string };
  [field: string]: unknown;
}

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_SELECTOR = `${MANAGED_BY_LABEL}=${ADDON_NAME}`;

export function addonLabels(component: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": component,
    "app.kubernetes.io/part-of": ADDON_NAME,
    [MANAGED_BY_LABEL]: ADDON_NAME,
  };
}

/** The labels a workload's selector matches: stable across versions, since selectors are immutable. */
export function selectorLabels(component: string): Record<string, string> {
  return { "app.kubernetes.io/name": component, "app.kubernetes.io/part-of": ADDON_NAME };
}

export function metadata(name: string, component: string, namespace?: string): AddonObject["metadata"] {
  return { name, ...(namespace === undefined ? {} : { namespace }), labels: addonLabels(component) };
}

/**
 * Linux amd64 nodes that carry one of the SGX labels or are a well-known SGX instance type. A simulated
 * cluster needs no SGX: every Linux node, unless --node-label narrows it.
 */
export function sgxNodeAffinity(config: AddonConfig): V1Affinity {
  const linux = { key: "kubernetes.io/os", operator: "In", values: ["linux"] };
  if (config.simulation && config.nodeLabels.length === 0 && config.instanceTypes.length === 0) {
    return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [linux] }] } } };
  }
  const base = config.simulation ? [linux] : [linux, { key: "kubernetes.io/arch", operator: "In", values: ["amd64"] }];
  const byLabel = config.nodeLabels.map((l) => ({
    matchExpressions: [
      ...base,
      l.values.length === 0 ? { key: l.key, operator: "Exists" } : { key: l.key, operator: "In", values: l.values },
    ],
  }));
  const byType =
    config.instanceTypes.length === 0
      ? []
      : [{ matchExpressions: [...base, { key: "node.kubernetes.io/instance-type", operator: "In", values: config.instanceTypes }] }];
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [...byLabel, ...byType] } } };
}

/** SGX pools are often tainted with the EPC resource name (the AKS docs do so off Azure). */
export function sgxTolerations(config: AddonConfig): V1Toleration[] {
  return [{ key: config.resourceName, operator: "Exists", effect: "NoSchedule" }, ...config.extraTolerations];
}

function httpProbe(path: string, port: number, periodSeconds: number): V1Probe {
  return { httpGet: { path, port }, periodSeconds, timeoutSeconds: 2, failureThreshold: 3 };
}

export interface ContainerShape {
  name: string;
  image: string;
  args: string[];
  metricsPort: number;
  /** The plugin runs as root to create its socket in the kubelet's root-owned directory. */
  runAsRoot: boolean;
  resources: NonNullable<V1Container["resources"]>;
  env?: V1Container["env"];
  volumeMounts?: V1Container["volumeMounts"];
  extraPorts?: V1Container["ports"];
}

export function hardenedContainer(c: ContainerShape): V1Container {
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: "IfNotPresent",
    command: ["confcom"],
    args: c.args,
    ...(c.env ? { env: c.env } : {}),
    ports: [...(c.extraPorts ?? []), { name: "metrics", containerPort: c.metricsPort, protocol: "TCP" }],
    livenessProbe: { ...httpProbe("/healthz", c.metricsPort, 20), initialDelaySeconds: 5 },
    readinessProbe: httpProbe("/readyz", c.metricsPort, 10),
    resources: c.resources,
    securityContext: {
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
      ...(c.runAsRoot ? { runAsUser: 0, runAsNonRoot: false } : { runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true }),
    },
    ...(c.volumeMounts ? { volumeMounts: c.volumeMounts } : {}),
  };
}

/**
 * A DaemonSet of ours on SGX nodes only: its ServiceAccount (named as it), node-critical priority, the SGX
 * node affinity and tolerations, in-place rolling updates; `pod` adds containers, volumes and the rest.
 */
export function sgxNodeDaemonSet(
  config: AddonConfig,
  name: string,
  pod: Omit<V1PodSpec, "serviceAccountName" | "priorityClassName" | "affinity" | "tolerations" | "enableServiceLinks">,
): V1DaemonSet & { metadata: { name: string } } {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: metadata(name, name, config.namespace),
    spec: {
      selector: { matchLabels: selectorLabels(name) },
      updateStrategy: NODE_ROLLING_UPDATE,
      template: {
        metadata: { labels: metadata(name, name).labels },
        spec: {
          serviceAccountName: name,
          priorityClassName: "system-node-critical",
          affinity: sgxNodeAffinity(config),
          tolerations: sgxTolerations(config),
          enableServiceLinks: false,
          ...pod,
        },
      },
    },
  };
}

/**
 * Env of the node-wide daemons: their V8 options (NODE_OPTIONS, and the flags the image's entrypoint puts on
 * node's command line) and malloc tunables (see src/common/node-options.ts;
 * `malloc` is DAEMON_ENV or SINGLE_ARENA_DAEMON_ENV), then `extra`.
 */
export function nodeDaemonEnv(malloc: Readonly<Record<string, string>> = DAEMON_ENV, extra: NonNullable<V1Container["env"]> = []): NonNullable<V1Container["env"]> {
  return [
    { name: "NODE_OPTIONS", value: DAEMON_NODE_OPTIONS.join(" ") },
    { name: NODE_FLAGS_ENV, value: DAEMON_NODE_FLAGS.join(" ") },
    ...Object.entries(malloc).map(([name, value]) => ({ name, value })),
    ...extra,
  ];
}

/** The webhook's V8 heap, sized to its 192 Mi limit (see src/common/node-options.ts). */
export function webhookEnv(): NonNullable<V1Container["env"]> {
  return [{ name: "NODE_OPTIONS", value: WEBHOOK_NODE_OPTIONS.join(" ") }];
}

/** Node-level DaemonSets replace a node's pod in place: never two on one node (maxSurge 0). */
export const NODE_ROLLING_UPDATE = { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } };
