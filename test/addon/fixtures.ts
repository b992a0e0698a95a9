// The add-on configuration the tests start from; each test overrides what it is about.
import { DEFAULT_NODE_LABELS, DEFAULT_SGX_INSTANCE_TYPES, type AddonConfig } from "../../src/addon/config.js";

export const RESOURCE = "kubernetes.azure.com/sgx_epc_mem_in_MiB";

/** A complete config with the defaults a cluster operator gets, and the quote helper on. */
export function testConfig(over: Partial<AddonConfig> = {}): AddonConfig {
  return {
    image: "example.com/confcom:test",
    namespace: "kube-system",
    resourceName: RESOURCE,
    quoteHelperEpcMiB: 8,
    quoteHelperEnabled: true,
    nodeLabels: DEFAULT_NODE_LABELS,
    instanceTypes: DEFAULT_SGX_INSTANCE_TYPES,
    extraTolerations: [],
    webhook: { kind: "in-cluster" },
    ...over,
  };
}
