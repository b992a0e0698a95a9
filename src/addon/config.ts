// The add-on's configuration: everything the rendered objects depend on, in one typed record that
// `render`, `enable` and `update` build from flags and that the cluster keeps in the config ConfigMap.
export interface NodeLabelRequirement {
  key: string;
  /** Accepted values; empty means the label only has to exist. */
  values: string[];
}

export interface Toleration {
  key?: string;
  operator?: "Equal" | "Exists";
  value?: string;
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** Where the admission webhook is served: by the add-on's own Deployment, or by someone else at a URL. */
export type WebhookEndpoint =
  | { kind: "in-cluster" }
  | { kind: "url"; url: string; caBundlePem: string };

export interface AddonConfig {
  /** Image holding the `confcom` binary, e.g. ghcr.io/confcom/confcom:0.1.0. */
  image: string;
  namespace: string;
  resourceName: string;
  /** EPC MiB the quote helper asks for: its QE and PCE enclaves. */
  quoteHelperEpcMiB: number;
  quoteHelperEnabled: boolean;
  /** Any one of these selects a node as SGX-capable (the terms are ORed). */
  nodeLabels: NodeLabelRequirement[];
  /** Also select nodes by these well-known SGX instance types (node.kubernetes.io/instance-type). */
  instanceTypes: string[];
  extraTolerations: Toleration[];
  webhook: WebhookEndpoint;
  /** With --enable-attestation-service: the MAA-compatible attestation service and its collateral source. */
  attestationService?: { pccsUrl: string };
  /** Every EPC and enclave allocation also hands /dev/sgx_provision (the plugin's --provision-all), as before least privilege. */
  provisionAll?: boolean;
  /** The webhook writes each EPC container's limit as the containers/nri-plugins sgx-epc plugin's annotation. */
  enforceEpcLimits?: boolean;
  /** A simulated cluster (`--simulate`): no SGX hardware, every workload on the simulated backends. */
  simulation?: SimulationConfig;
}

/** The cluster's simulated "Intel" and each node's simulated EPC. Simulated secrets are not secret. */
export interface SimulationConfig {
  /** Root CA, PCK CA, TCB signing key and FMSPC model come from it; each node's CPU from (seed, node name). */
  seed: string;
  /** EPC of every simulated node, in MiB. */
  epcMiB: number;
  /** The simulated root CA the seed gives (the trust anchor relying parties need), published in a ConfigMap. */
  rootCaPem: string;
}

export const ADDON_NAME = "confcom";
export const FIELD_MANAGER = "confcom";
export const DEFAULT_NAMESPACE = "kube-system";
export const DEFAULT_IMAGE_REPOSITORY = "ghcr.io/confcom/confcom";
export const DEFAULT_QUOTE_HELPER_EPC_MIB = 8;

/**
 * The labels that mark a node as SGX-capable. `sgx.intel.com/capable=true` is what Intel's epchook
 * (`-node-label`) sets and what an operator can set by hand; `intel.feature.node.kubernetes.io/sgx=true`
 * is Node Feature Discovery's rule. Either suffices.
 */
export const DEFAULT_NODE_LABELS: NodeLabelRequirement[] = [
  { key: "sgx.intel.com/capable", values: ["true"] },
  { key: "intel.feature.node.kubernetes.io/sgx", values: ["true"] },
];

/** Azure VM sizes with SGX (DCsv2, DCsv3, DCdsv3), labelled by the cloud provider without any add-on. */
export const DEFAULT_SGX_INSTANCE_TYPES: string[] = [
  ...["DC1s_v2", "DC2s_v2", "DC4s_v2", "DC8_v2"],
  ...[1, 2, 4, 8, 16, 24, 32, 48].flatMap((n) => [`DC${n}s_v3`, `DC${n}ds_v3`]),
].map((s) => `Standard_${s}`);

/** Object names, fixed so that enable/update/disable find what an earlier run created. */
export const NAMES = {
  plugin: "sgx-plugin",
  quoteHelper: "sgx-quote-helper",
  pluginClusterRole: "confcom:sgx-plugin",
  /** ValidatingAdmissionPolicy and its binding: the plugin may change only its own node's SGX labels and EPC capacity. */
  pluginNodePolicy: "confcom-sgx-plugin-node",
  webhook: "confcom-webhook",
  webhookTlsSecret: "confcom-webhook-tls",
  mutatingWebhook: "confcom-sgx-mutator",
  validatingWebhook: "confcom-sgx-validator",
  configMap: "confcom-addon-config",
  pccs: "confcom-pccs",
  simRootCa: "confcom-sim-root-ca",
} as const;

/** Ports inside the pods. */
export const PORTS = {
  pluginMetrics: 9410,
  quoteHelperMetrics: 9466,
  webhookHttps: 8443,
  webhookMetrics: 9412,
  pccs: 8081,
  pccsMetrics: 9093,
} as const;

/** The annotation a pod sets to have its EPC containers wired to the node's quote helper. */
export const QUOTE_HELPER_ANNOTATION = "confcom.io/quote-helper";
/**
 * The containers (comma-separated names) that quote in process and so need /dev/sgx_provision: the
 * webhook adds one device of the provision resource to each. Pods on the quote helper never get it.
 */
export const QUOTE_IN_PROCESS_ANNOTATION = "confcom.io/quote-in-process";
/** Intel's webhook's equivalent: the one container that quotes (in process, or an aesmd sidecar). */
export const INTEL_QUOTE_PROVIDER_ANNOTATION = "sgx.intel.com/quote-provider";
/** Host directory holding aesm.socket, shared by the quote helper and the pods that use it. */
export const AESMD_DIR = "/var/run/aesmd";
