// The quote helper: an AESM-compatible DaemonSet serving /var/run/aesmd/aesm.socket on SGX nodes.
import type { V1DaemonSet, V1ServiceAccount } from "@kubernetes/client-node";
import { DEFAULT_ENCLAVE_RESOURCE_NAME } from "../../deviceplugin/defaults.js";
import { AESMD_DIR, NAMES, PORTS, type AddonConfig } from "../config.js";
import { hardenedContainer, metadata, nodeDaemonEnv, sgxNodeDaemonSet } from "./common.js";
import { quoteHelperBackendArgs } from "./simulated.js";

const COMPONENT = NAMES.quoteHelper;

export function quoteHelperServiceAccount(config: AddonConfig): V1ServiceAccount & { metadata: { name: string } } {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: metadata(NAMES.quoteHelper, COMPONENT, config.namespace),
    automountServiceAccountToken: false,
  };
}

export function quoteHelperDaemonSet(config: AddonConfig): V1DaemonSet & { metadata: { name: string } } {
  // Requesting EPC and one enclave device (request = limit, as for every extended resource) makes the
  // device plugin give the container its SGX device nodes in either EPC mode, and keeps the pod off
  // nodes the plugin does not serve yet. The webhook skips this namespace: the enclave device is named here.
  const epc = { [config.resourceName]: String(config.quoteHelperEpcMiB), [DEFAULT_ENCLAVE_RESOURCE_NAME]: "1" };
  return sgxNodeDaemonSet(config, NAMES.quoteHelper, {
    automountServiceAccountToken: false,
    containers: [
      hardenedContainer({
        name: "quote-helper",
        image: config.image,
        args: [
          "quote-helper",
          ...quoteHelperBackendArgs(config),
          `--socket=${AESMD_DIR}/aesm.socket`,
          "--socket-mode=0777",
          `--metrics-addr=0.0.0.0:${PORTS.quoteHelperMetrics}`,
        ],
        env: nodeDaemonEnv(),
        metricsPort: PORTS.quoteHelperMetrics,
        // Root (with no capabilities) to own the socket in the host's root-owned /var/run/aesmd
        // and to open /dev/sgx_provision, which hosts keep at 0660 root:sgx_prv.
        runAsRoot: true,
        resources: {
          requests: { cpu: "50m", memory: "64Mi", ...epc },
          limits: { cpu: "500m", memory: "256Mi", ...epc },
        },
        volumeMounts: [{ name: "aesmd", mountPath: AESMD_DIR }],
      }),
    ],
    volumes: [{ name: "aesmd", hostPath: { path: AESMD_DIR, type: "DirectoryOrCreate" } }],
  });
}
