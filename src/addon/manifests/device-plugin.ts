// The SGX EPC device plugin: a DaemonSet on SGX nodes, its ServiceAccount and node RBAC. It serves two
// resources (the EPC, per MiB or as node-status capacity, and the enclave devices), labels its Node
// (NODE_NAME from the downward API) and writes an NFD feature file where NFD is installed.
import type { V1ClusterRole, V1ClusterRoleBinding, V1DaemonSet, V1ServiceAccount } from "@kubernetes/client-node";
import { DEFAULT_ENCLAVE_DEVICES } from "../../deviceplugin/defaults.js";
import { NAMES, PORTS, type AddonConfig } from "../config.js";
import { hardenedContainer, metadata, nodeDaemonEnv, sgxNodeDaemonSet } from "./common.js";

const COMPONENT = NAMES.plugin;
const KUBELET_PLUGIN_DIR = "/var/lib/kubelet/device-plugins";
/** The in-kernel (5.11+) SGX device nodes. Never `/dev/sgx` as a directory: runtimes reject it ("not a device node"). */
export const SGX_DEVICE_NODES = ["/dev/sgx_enclave", "/dev/sgx_provision"] as const;
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

function volumeName(devicePath: string): string {
  return devicePath.slice("/dev/".length).replace(/_/g, "-");
}

export function pluginDaemonSet(config: AddonConfig): V1DaemonSet & { metadata: { name: string } } {
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
          // Provisioning containers are a subset of the enclave ones: as many devices suffice.
          `--provision-devices=${DEFAULT_ENCLAVE_DEVICES}`,
          ...(config.provisionAll ? ["--provision-all"] : []),
        ],
        env: nodeDaemonEnv([{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }]),
        metricsPort: PORTS.pluginMetrics,
        runAsRoot: true,
        resources: { requests: { cpu: "20m", memory: "48Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
        volumeMounts: [
          { name: "device-plugins", mountPath: KUBELET_PLUGIN_DIR },
          ...SGX_DEVICE_NODES.map((p) => ({ name: volumeName(p), mountPath: p, readOnly: true })),
          { name: "nfd", mountPath: NFD_DIR },
        ],
      }),
    ],
    volumes: [
      { name: "device-plugins", hostPath: { path: KUBELET_PLUGIN_DIR, type: "Directory" } },
      ...SGX_DEVICE_NODES.map((p) => ({ name: volumeName(p), hostPath: { path: p, type: "CharDevice" } })),
      { name: "nfd", hostPath: { path: NFD_DIR, type: "DirectoryOrCreate" } },
    ],
  });
}
