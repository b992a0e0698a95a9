// The quote helper: an AESM-compatible DaemonSet serving /var/run/aesmd/aesm.socket on SGX nodes.
import type { V1Container, V1DaemonSet, V1ServiceAccount } from "@kubernetes/client-node";
import { DEFAULT_ENCLAVE_RESOURCE_NAME, DEFAULT_PROVISION_RESOURCE_NAME } from "../../deviceplugin/defaults.js";
import { AESMD_DIR, NAMES, PORTS, type AddonConfig } from "../config.js";
import type { ClusterFeatures } from "../features.js";
import { epcLimitKey } from "../../webhook/epc-limits.js";
import { hardenedContainer, metadata, NODE_ROLLING_UPDATE, nodeDaemonEnv, sgxNodeDaemonSet } from "./common.js";
import { quoteHelperBackendArgs } from "./simulated.js";

const COMPONENT = NAMES.quoteHelper;

/**
 * Surge (1.25+): the new pod starts beside the old one on each node, takes the socket path over once
 * ready, and the old one drains and exits; the node never goes without a helper. Both pods fit: no host
 * port, and EPC and a provision device for two.
 */
export const QUOTE_HELPER_SURGE = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };

/**
 * The drain after SIGTERM: a connection accepted just before has the read timeout (5 s) to send its
 * request, then waits behind at most --max-queue (256) quotes, ~10 s with DCAP's serialised calls at tens
 * of ms each, plus ~2 s to load the QE and PCE on first use: 30 s is more than twice that.
 */
export const QUOTE_HELPER_TERMINATION_GRACE_SECONDS = 30;

const KEEPER_DIR = "/run/confcom-keeper";
const KEEPER_CONTROL = `${KEEPER_DIR}/keeper.sock`;

/**
 * The socket keeper (quotehelper/keeper/): holds the AESM listening socket across helper container
 * restarts, so apps that connect while the helper is down wait in the backlog instead of being refused.
 * Same uid as the helper (its SO_PEERCRED check); no metrics port, so no HTTP probes: it only holds an fd.
 */
function keeperContainer(config: AddonConfig): V1Container {
  const c = hardenedContainer({
    name: "socket-keeper",
    image: config.image,
    args: ["quote-helper", "keeper", `--socket=${AESMD_DIR}/aesm.socket`, "--socket-mode=0777", `--control=${KEEPER_CONTROL}`],
    env: nodeDaemonEnv(),
    metricsPort: 0,
    runAsRoot: true,
    // It idles at ~57 MiB RSS (a Node process holding one fd): the request covers that.
    resources: { requests: { cpu: "5m", memory: "64Mi" }, limits: { cpu: "100m", memory: "128Mi" } },
    volumeMounts: [
      { name: "aesmd", mountPath: AESMD_DIR },
      { name: "keeper", mountPath: KEEPER_DIR },
    ],
  });
  delete c.ports;
  delete c.livenessProbe;
  delete c.readinessProbe;
  return c;
}

export function quoteHelperServiceAccount(config: AddonConfig): V1ServiceAccount & { metadata: { name: string } } {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: metadata(NAMES.quoteHelper, COMPONENT, config.namespace),
    automountServiceAccountToken: false,
  };
}

export function quoteHelperDaemonSet(config: AddonConfig, features: ClusterFeatures): V1DaemonSet & { metadata: { name: string } } {
  // Requesting EPC and one enclave device (request = limit, as for every extended resource) makes the
  // device plugin give the container its SGX device nodes in either EPC mode, and keeps the pod off
  // nodes the plugin does not serve yet. The webhook skips this namespace: the enclave device is named here.
  // One provision device: the helper quotes for the node, so it alone needs /dev/sgx_provision.
  const epc = { [config.resourceName]: String(config.quoteHelperEpcMiB), [DEFAULT_ENCLAVE_RESOURCE_NAME]: "1", [DEFAULT_PROVISION_RESOURCE_NAME]: "1" };
  const ds = sgxNodeDaemonSet(config, NAMES.quoteHelper, {
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: QUOTE_HELPER_TERMINATION_GRACE_SECONDS,
    containers: [
      hardenedContainer({
        name: "quote-helper",
        image: config.image,
        args: [
          "quote-helper",
          ...quoteHelperBackendArgs(config),
          `--socket=${AESMD_DIR}/aesm.socket`,
          "--socket-mode=0777",
          `--socket-from-keeper=${KEEPER_CONTROL}`,
          // A replaced pod must not exit: the kubelet would restart it (restartPolicy Always) and it would
          // take the socket back from its successor. It stays, not ready, until the controller deletes it.
          "--after-handover=wait",
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
        volumeMounts: [
          { name: "aesmd", mountPath: AESMD_DIR },
          { name: "keeper", mountPath: KEEPER_DIR },
        ],
      }),
      keeperContainer(config),
    ],
    volumes: [
      { name: "aesmd", hostPath: { path: AESMD_DIR, type: "DirectoryOrCreate" } },
      // Pod-local, never on the host: only this pod's containers reach the keeper's control socket.
      { name: "keeper", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
    ],
  });
  ds.spec!.updateStrategy = features.daemonSetSurge ? QUOTE_HELPER_SURGE : NODE_ROLLING_UPDATE;
  // The webhook skips this namespace, so the helper carries its own sgx-epc NRI limit.
  if (config.enforceEpcLimits) ds.spec!.template.metadata!.annotations = { [epcLimitKey("quote-helper")]: String(config.quoteHelperEpcMiB * 1048576) };
  return ds;
}
