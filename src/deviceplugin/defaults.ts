// Defaults of `confcom device-plugin`, apart from the daemon so that registering the command loads nothing heavy.
export const DEFAULT_RESOURCE_NAME = "kubernetes.azure.com/sgx_epc_mem_in_MiB";
export const DEFAULT_SOCKET_DIR = "/var/lib/kubelet/device-plugins/";
export const DEFAULT_SOCKET_NAME = "sgx-epc.sock";
/** Not :9100, which node_exporter holds on most nodes. */
export const DEFAULT_METRICS_ADDR = ":9410";
