// The SGX EPC device plugin: a DaemonSet on SGX nodes, its ServiceAccount and node RBAC. It serves two
// resources (the EPC, per MiB or as node-status capacity, and the enclave devices), labels its Node
// (NODE_NAME from the downward API) and writes an NFD feature file where NFD is installed.
import type { V1ClusterRole, V1ClusterRoleBinding, V1DaemonSet, V1ServiceAccount } from "@kubernetes/client-node";
import { DEFAULT_ENCLAVE_DEVICES, PLUGIN_ENV } from "../../deviceplugin/defaults.js";
import { NAMES, PORTS, type AddonConfig } from "../config.js";
import { hardenedContainer, metadata, nodeDaemonEnv, sgxNodeDaemonSet } from "./common.js";
import { simStateMount, simStateVolume, simulatedPluginArgs } from "./simulated.js";

const COMPONENT = NAMES.plugin;
const KUBELET_PLUGIN_DIR = "/var/lib/kubelet/device-plugins";
/**
 * NFD's directory, DirectoryOrCreate: its features.d exists only where NFD runs, and the plugin writes
 * its feature file only there. Mounted one level up so that features.d appearing later is seen.
 */
const NFD_DIR = "/etc/kubernetes/node-feature-discovery";

export function pluginServiceAccount(config: AddonConfig): V1ServiceAccount & { metadata: { name: string } } {
  return { apiVersion: "v1", kind: "ServiceAccount", metadata: metadata(NAMES.plugin, COMPONENT, config.namespace) };
}

/**
 * Labelling its node and publishing EPC capacity: nodes get/patch and nodes/status patch, nothing else.
 * RBAC cannot name "its own node"; on 1.30+ the ValidatingAdmissionPolicy of ./node-policy.ts does.
 */
export function pluginClusterRole(): V1ClusterRole & { metadata: { name: string } } {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: metadata(NAMES.pluginClusterRole, COMPONENT),
    rules: [
      { apiGroups: [""], resources: ["nodes"], verbs: ["get", "patch"] },
      { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
    ],
  };
}

export function pluginClusterRoleBinding(config: AddonConfig): V1ClusterRoleBinding & { metadata: { name: string } } {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: metadata(NAMES.pluginClusterRole, COMPONENT),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: NAMES.pluginClusterRole },
    subjects: [{ kind: "ServiceAccount", name: NAMES.plugin, namespace: config.namespace }],
  };
}

/**
 * The host's /dev, read-only, where the plugin looks for the SGX nodes (in-kernel /dev/sgx_enclave, the
 * out-of-tree /dev/sgx/enclave or /dev/isgx, or none). A Directory always exists: unlike a CharDevice
 * hostPath per node, no type check can keep the pod from starting on a node without those nodes.
 */
const HOST_DEV_ROOT = "/host";

export function pluginDaemonSet(config: AddonConfig): V1DaemonSet & { metadata: { name: string } } {
  const sim = config.simulation;
  return sgxNodeDaemonSet(config, NAMES.plugin, {
    containers: [
      hardenedContainer({
        name: "device-plugin",
        image: config.image,
        args: [
          "device-plugin",
          `--resource-name=${config.resourceName}`,
          `--socket-dir=${KUBELET_PLUGIN_DIR}/`,
          `--metrics-addr=:${PORTS.pluginMetrics}`,
          "--epc-mode=auto",
          `--enclave-devices=${DEFAULT_ENCLAVE_DEVICES}`,
          ...(sim ? simulatedPluginArgs(sim) : [`--dev-root=${HOST_DEV_ROOT}`, "--host-dev-paths"]),
          // Provisioning containers are a subset of the enclave ones: as many devices suffice.
          `--provision-devices=${DEFAULT_ENCLAVE_DEVICES}`,
          ...(config.provisionAll ? ["--provision-all"] : []),
        ],
        env: nodeDaemonEnv(PLUGIN_ENV, [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }]),
        metricsPort: PORTS.pluginMetrics,
        runAsRoot: true,
        resources: { requests: { cpu: "20m", memory: "48Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
        volumeMounts: [
          { name: "device-plugins", mountPath: KUBELET_PLUGIN_DIR },
          ...(sim ? [simStateMount] : [{ name: "host-dev", mountPath: `${HOST_DEV_ROOT}/dev`, readOnly: true }]),
          { name: "nfd", mountPath: NFD_DIR },
        ],
      }),
    ],
    volumes: [
      { name: "device-plugins", hostPath: { path: KUBELET_PLUGIN_DIR, type: "Directory" } },
      ...(sim ? [simStateVolume] : [{ name: "host-dev", hostPath: { path: "/dev", type: "Directory" } }]),
      { name: "nfd", hostPath: { path: NFD_DIR, type: "DirectoryOrCreate" } },
    ],
  });
}
