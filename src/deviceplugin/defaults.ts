// Defaults of `confcom device-plugin`, apart from the daemon so that registering the command loads nothing heavy.
import { SINGLE_ARENA_DAEMON_ENV } from "../common/node-options.js";

export const DEFAULT_RESOURCE_NAME = "kubernetes.azure.com/sgx_epc_mem_in_MiB";
export const DEFAULT_SOCKET_DIR = "/var/lib/kubelet/device-plugins/";
export const DEFAULT_SOCKET_NAME = "sgx-epc.sock";
/** Not :9100, which node_exporter holds on most nodes. */
export const DEFAULT_METRICS_ADDR = ":9410";
/** One device per EPC-using container, in both EPC modes (the webhook adds 1 to every such container). */
export const DEFAULT_ENCLAVE_RESOURCE_NAME = "kubernetes.azure.com/sgx_enclave";
export const DEFAULT_ENCLAVE_SOCKET_NAME = "sgx-enclave.sock";
/** Intel's default `-enclave-limit`, the kubelet's default pods per node. */
export const DEFAULT_ENCLAVE_DEVICES = 110;
export const EPC_MODES = ["auto", "devices", "node-status"] as const;
export type EpcMode = (typeof EPC_MODES)[number];
/**
 * One device per container that may provision (an in-proc quoting app, or the quote helper): its
 * allocation hands /dev/sgx_provision with /dev/sgx_enclave. EPC and enclave allocations hand no provision node.
 */
export const DEFAULT_PROVISION_RESOURCE_NAME = "kubernetes.azure.com/sgx_provision";
export const DEFAULT_PROVISION_SOCKET_NAME = "sgx-provision.sock";
/** Env the DaemonSet runs the plugin with, beside the V8 options: see common/node-options.ts. */
export const PLUGIN_ENV = SINGLE_ARENA_DAEMON_ENV;
