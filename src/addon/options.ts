// Flags shared by `addon render`, `enable` and `update`, and their translation into an AddonConfig.
import { readFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { CliError, parseCount } from "../cli/errors.js";
import { VERSION } from "../cli/version.js";
import { extendedResourceNameProblem } from "../kubelet/resource-name.js";
import { INTEL_PCS_URL } from "./manifests/attestation-service.js";
import {
  DEFAULT_IMAGE_REPOSITORY,
  DEFAULT_NAMESPACE,
  DEFAULT_NODE_LABELS,
  DEFAULT_QUOTE_HELPER_EPC_MIB,
  DEFAULT_SGX_INSTANCE_TYPES,
  type AddonConfig,
  type NodeLabelRequirement,
  type Toleration,
} from "./config.js";

export const DEFAULT_IMAGE = `${DEFAULT_IMAGE_REPOSITORY}:${VERSION}`;
const DEFAULT_RESOURCE_NAME = "kubernetes.azure.com/sgx_epc_mem_in_MiB";

export interface ConfigFlags {
  image: string;
  namespace: string;
  resourceName: string;
  nodeLabel?: string[];
  instanceTypes: string;
  toleration?: string[];
  quoteHelperEpcMib: number;
  enableSgxquotehelper?: boolean;
  webhookUrl?: string;
  webhookCa?: string;
  enableAttestationService?: boolean;
  attestationPccsUrl: string;
  simulate?: boolean;
  simEpcMib?: number;
  simSeed?: string;
  provisionAll?: boolean;
  enforceEpcLimits?: boolean;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

/** `--namespace`, which every addon subcommand takes to find the add-on. */
export function addNamespaceOption(cmd: Command): Command {
  return cmd.option("-n, --namespace <ns>", "namespace of the add-on's workloads and config", DEFAULT_NAMESPACE);
}

export function addConfigOptions(cmd: Command): Command {
  addNamespaceOption(cmd);
  return cmd
    .option("--enable-sgxquotehelper", "also run the quote helper (AESM-compatible, out-of-proc DCAP quotes)")
    .option("--image <ref>", "image holding the confcom binary", DEFAULT_IMAGE)
    .option("--resource-name <name>", "extended resource of the EPC, one unit per MiB", DEFAULT_RESOURCE_NAME)
    .option(
      "--node-label <key[=value]>",
      `an SGX node label (repeatable; any one suffices; replaces the defaults ${DEFAULT_NODE_LABELS.map(showLabel).join(", ")})`,
      collect,
    )
    .option("--instance-types <list>", "comma-separated SGX instance types also selected (\"\" for none)", DEFAULT_SGX_INSTANCE_TYPES.join(","))
    .option("--toleration <key[=value][:effect]>", "an extra toleration for the DaemonSets (repeatable)", collect)
    .option("--quote-helper-epc-mib <n>", "EPC MiB the quote helper requests", parseCount("--quote-helper-epc-mib", 1 << 20), DEFAULT_QUOTE_HELPER_EPC_MIB)
    .addOption(new Option("--webhook-url <url>", "register an admission webhook served at this https URL instead of deploying one"))
    .addOption(new Option("--webhook-ca <pem-file>", "CA bundle (PEM) that signs the certificate of --webhook-url"))
    .option("--enable-attestation-service", "also run the attestation service (MAA-compatible, issues tokens for verified quotes)")
    .option("--attestation-pccs-url <url>", "PCCS (or Intel PCS) the attestation service fetches collateral from", INTEL_PCS_URL)
    .option(
      "--simulate",
      "a SIMULATED cluster, no SGX hardware: every Linux node (unless --node-label) gets a simulated SGX CPU, quotes come from a simulated QE3 under a simulated root CA, a PCCS serves its collateral. Never trust its quotes",
    )
    .option("--no-simulate", "(update) turn simulation off")
    .option("--sim-epc-mib <n>", "simulated EPC per node in MiB (default 16384)", parseCount("--sim-epc-mib", 1 << 30))
    .option("--sim-seed <seed>", "the simulated cluster's \"Intel\" (root CA, PCK CA, TCB signing key) and every node's CPU derive from it (default: a random one; not a secret)")
    .option("--provision-all", "hand /dev/sgx_provision with every EPC allocation, as before (default: only to containers given kubernetes.azure.com/sgx_provision)")
    .option("--no-provision-all", "least privilege: /dev/sgx_provision only with kubernetes.azure.com/sgx_provision (the default)")
    .option("--enforce-epc-limits", "have the webhook annotate each EPC container with its limit for the containers/nri-plugins sgx-epc NRI plugin (needs that plugin and kernel support)")
    .option("--no-enforce-epc-limits", "do not write EPC limit annotations (the default)");
}

function showLabel(l: NodeLabelRequirement): string {
  return l.values.length === 0 ? l.key : `${l.key}=${l.values.join("|")}`;
}

export function parseNodeLabel(s: string): NodeLabelRequirement {
  const [key, ...rest] = s.split("=");
  if (!key || !/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(key)) {
    throw new CliError(`--node-label: "${s}" is not key or key=value with a valid label key`, 2);
  }
  const value = rest.join("=");
  return { key, values: rest.length === 0 ? [] : [value] };
}

export function parseToleration(s: string): Toleration {
  const m = /^([^=:]+)(?:=([^:]*))?(?::(NoSchedule|PreferNoSchedule|NoExecute))?$/.exec(s);
  if (!m) throw new CliError(`--toleration: "${s}" is not key[=value][:NoSchedule|PreferNoSchedule|NoExecute]`, 2);
  const [, key, value, effect] = m;
  return {
    key,
    ...(value === undefined ? { operator: "Exists" as const } : { operator: "Equal" as const, value }),
    ...(effect ? { effect: effect as Toleration["effect"] } : {}),
  };
}

export function configFromFlags(flags: ConfigFlags): AddonConfig {
  const problem = extendedResourceNameProblem(flags.resourceName);
  if (problem) throw new CliError(`--resource-name: ${problem}`, 2);
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(flags.namespace)) throw new CliError(`--namespace: "${flags.namespace}" is not a valid namespace name`, 2);
  if (!flags.image.trim() || /\s/.test(flags.image)) throw new CliError(`--image: "${flags.image}" is not an image reference`, 2);
  if (flags.quoteHelperEpcMib === 0) throw new CliError("--quote-helper-epc-mib must be at least 1", 2);
  if ((flags.webhookUrl === undefined) !== (flags.webhookCa === undefined)) throw new CliError("--webhook-url and --webhook-ca go together", 2);
  let webhook: AddonConfig["webhook"] = { kind: "in-cluster" };
  if (flags.webhookUrl !== undefined && flags.webhookCa !== undefined) {
    let url: URL;
    try {
      url = new URL(flags.webhookUrl);
    } catch {
      throw new CliError(`--webhook-url: "${flags.webhookUrl}" is not a URL`, 2);
    }
    if (url.protocol !== "https:") throw new CliError(`--webhook-url must be https (the API server only calls webhooks over TLS), got ${url.protocol}`, 2);
    let pem: string;
    try {
      pem = readFileSync(flags.webhookCa, "utf8");
    } catch (err) {
      throw new CliError(`--webhook-ca: cannot read ${flags.webhookCa}: ${(err as Error).message}`, 2);
    }
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new CliError(`--webhook-ca: ${flags.webhookCa} holds no PEM certificate`, 2);
    webhook = { kind: "url", url: url.href, caBundlePem: pem };
  }
  // A simulated cluster needs no SGX: every Linux node, unless --node-label narrows it.
  const simulated = flags.simulate === true;
  const nodeLabels = flags.nodeLabel ? flags.nodeLabel.map(parseNodeLabel) : simulated ? [] : DEFAULT_NODE_LABELS;
  const instanceTypes = simulated ? [] : flags.instanceTypes.split(",").map((s) => s.trim()).filter(Boolean);
  if (!simulated && nodeLabels.length === 0 && instanceTypes.length === 0) throw new CliError("no way to find SGX nodes: give --node-label or --instance-types", 2);
  return {
    image: flags.image,
    namespace: flags.namespace,
    resourceName: flags.resourceName,
    quoteHelperEpcMiB: flags.quoteHelperEpcMib,
    quoteHelperEnabled: flags.enableSgxquotehelper === true,
    nodeLabels,
    instanceTypes,
    extraTolerations: (flags.toleration ?? []).map(parseToleration),
    webhook,
    ...(flags.enableAttestationService ? { attestationService: { pccsUrl: flags.attestationPccsUrl } } : {}),
    provisionAll: flags.provisionAll === true,
    enforceEpcLimits: flags.enforceEpcLimits === true,
  };
}
