// `confcom addon render|enable|update|disable|status`.
import { Option, type Command } from "commander";
import { CliError } from "../cli/errors.js";
import { registerWebhookCommand } from "../webhook/cli.js";
import type { KubeClient } from "../k8s/client.js";
import { NAMES, type AddonConfig } from "./config.js";
import { featuresOf, NODE_POLICY_SINCE, parseKubeVersion, RENDER_DEFAULT_VERSION, showVersion, SURGE_SINCE, type ClusterFeatures } from "./features.js";
import { renderAddon } from "./manifests/index.js";
import { webhookServiceHost } from "./manifests/webhook.js";
import { addConfigOptions, addNamespaceOption, configFromFlags, type ConfigFlags } from "./options.js";
import { formatObjects, type OutputFormat } from "./render.js";
import { checkSimulationFlags, simulationConfig, withSimulation } from "./simulation.js";

interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  namespace: string;
}
interface WaitFlags {
  wait: string | false;
}

function addClusterOptions(cmd: Command): Command {
  return cmd
    .option("--kubeconfig <file>", "kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)")
    .option("--context <name>", "kubeconfig context to use (default: the current context)");
}

function addWaitOptions(cmd: Command): Command {
  return cmd.option("--wait <duration>", "how long to wait for rollout or deletion (e.g. 90s, 5m)", "5m").option("--no-wait", "return once the API server has accepted the changes");
}

async function connect(flags: ClusterFlags): Promise<KubeClient> {
  const { KubeClient } = await import("../k8s/client.js");
  try {
    return await KubeClient.connect({ kubeconfig: flags.kubeconfig, context: flags.context });
  } catch (err) {
    throw new CliError(`cannot load the kubeconfig: ${(err as Error).message}`);
  }
}

async function waitMs(flags: WaitFlags): Promise<number | undefined> {
  if (flags.wait === false) return undefined;
  const { parseDuration } = await import("./cluster/rollout.js");
  try {
    return parseDuration(flags.wait);
  } catch (err) {
    throw new CliError(`--wait: ${(err as Error).message}`, 2);
  }
}

/** Runs a cluster operation; its expected failures become one-line CLI errors. */
async function run<T>(op: () => Promise<T>): Promise<T> {
  const { AddonStateError } = await import("./cluster/recorded.js");
  const { ApiError } = await import("../k8s/client.js");
  try {
    return await op();
  } catch (err) {
    if (err instanceof AddonStateError) throw new CliError(err.message, 1);
    if (err instanceof ApiError || err instanceof Error) throw new CliError(err.message, 1);
    throw err;
  }
}

const print = (line: string) => process.stdout.write(`${line}\n`);

/** Config fields and the flags that set them: `update` keeps the recorded value of any flag not given. */
const FLAG_OF_FIELD: [keyof AddonConfig, string][] = [
  ["image", "image"],
  ["resourceName", "resourceName"],
  ["nodeLabels", "nodeLabel"],
  ["instanceTypes", "instanceTypes"],
  ["extraTolerations", "toleration"],
  ["quoteHelperEpcMiB", "quoteHelperEpcMib"],
  ["webhook", "webhookUrl"],
  ["attestationService", "enableAttestationService"],
  ["attestationService", "disableAttestationService"],
  ["provisionAll", "provisionAll"],
  ["enforceEpcLimits", "enforceEpcLimits"],
];

/** `confcom addon ...` and `confcom webhook`, the daemon the add-on deploys. */
export function registerAddonCommands(program: Command): void {
  registerWebhookCommand(program);
  const addon = program
    .command("addon")
    .description("deploy the add-on (device plugin, quote helper, admission webhook) to a cluster, like `az aks enable-addons -a confcom`");

  addConfigOptions(addon.command("render"))
    .description("print the add-on's objects for `kubectl apply -f -` (the in-cluster webhook gets a fresh CA)")
    .option("-o, --output <format>", "yaml or json", "yaml")
    .option("--kube-version <major.minor>", `the cluster's Kubernetes version: below ${showVersion(NODE_POLICY_SINCE)} no ValidatingAdmissionPolicy, below ${showVersion(SURGE_SINCE)} no surge rollout of the quote helper`, showVersion(RENDER_DEFAULT_VERSION))
    .action(async (flags: ConfigFlags & { output: string; kubeVersion: string }) => {
      if (flags.output !== "yaml" && flags.output !== "json") throw new CliError(`--output must be yaml or json, got "${flags.output}"`, 2);
      let features: ClusterFeatures;
      try {
        features = featuresOf(parseKubeVersion(flags.kubeVersion));
      } catch (err) {
        throw new CliError(`--kube-version: ${(err as Error).message}`, 2);
      }
      const config = await withSimulation(configFromFlags(flags), flags);
      const { issueWebhookTls } = await import("./tls.js");
      const tls = config.webhook.kind === "in-cluster" ? await issueWebhookTls({ dnsNames: [webhookServiceHost(config)] }) : undefined;
      const { attestationServiceKeys } = await import("./manifests/attestation-service.js");
      process.stdout.write(formatObjects(renderAddon(config, tls, features, await attestationServiceKeys(config)), flags.output as OutputFormat));
    });

  addWaitOptions(addClusterOptions(addConfigOptions(addon.command("enable"))))
    .description("install the add-on; fails if it is already enabled")
    .action(async (flags: ConfigFlags & ClusterFlags & WaitFlags) => {
      const config = await withSimulation(configFromFlags(flags), flags);
      const wait = await waitMs(flags);
      const client = await connect(flags);
      const { enableAddon } = await import("./cluster/operations.js");
      await run(() => enableAddon(client, config, { waitMs: wait, print }));
    });

  addWaitOptions(addClusterOptions(addConfigOptions(addon.command("update"))))
    .addOption(new Option("--disable-attestation-service", "remove the attestation service (its Deployment, Service, ServiceAccount and keys Secret); without either flag it stays as it is").conflicts("enableAttestationService"))
    .description("change the add-on; without --enable-sgxquotehelper the quote helper is turned off (as with AKS)")
    .action(async (flags: ConfigFlags & ClusterFlags & WaitFlags & { disableAttestationService?: boolean }, cmd: Command) => {
      const fromFlags = configFromFlags(flags);
      const given = (flag: string) => cmd.getOptionValueSource(flag) === "cli" || (flag === "webhookUrl" && cmd.getOptionValueSource("webhookCa") === "cli");
      checkSimulationFlags({ ...flags, simulate: flags.simulate ?? false });
      // A seed given (or none recorded) needs its root CA, which takes async work: made before `next`.
      const freshSimulation = flags.simulate ? await simulationConfig(flags.simSeed, flags.simEpcMib) : undefined;
      const next = (recorded: AddonConfig): AddonConfig => {
        const merged: AddonConfig = { ...recorded, quoteHelperEnabled: fromFlags.quoteHelperEnabled };
        for (const [field, flag] of FLAG_OF_FIELD) if (given(flag)) (merged as unknown as Record<string, unknown>)[field] = fromFlags[field];
        if (given("simulate")) {
          const kept = recorded.simulation && !given("simSeed") ? { ...recorded.simulation, ...(given("simEpcMib") ? { epcMiB: flags.simEpcMib! } : {}) } : freshSimulation;
          if (flags.simulate) merged.simulation = kept;
          else delete merged.simulation;
          if (!given("nodeLabel")) merged.nodeLabels = fromFlags.nodeLabels;
          if (!given("instanceTypes")) merged.instanceTypes = fromFlags.instanceTypes;
        }
        return merged;
      };
      const wait = await waitMs(flags);
      const client = await connect(flags);
      const { updateAddon } = await import("./cluster/operations.js");
      await run(() => updateAddon(client, next, flags.namespace, { waitMs: wait, print }));
    });

  addWaitOptions(addClusterOptions(addNamespaceOption(addon.command("disable"))))
    .description(`remove every object the add-on created (labelled app.kubernetes.io/managed-by=confcom) and nothing else`)
    .action(async (flags: ClusterFlags & WaitFlags) => {
      const wait = await waitMs(flags);
      const client = await connect(flags);
      const { disableAddon } = await import("./cluster/operations.js");
      await run(() => disableAddon(client, flags.namespace, { waitMs: wait, print }));
    });

  addClusterOptions(addNamespaceOption(addon.command("status")))
    .description(`show the add-on's config (ConfigMap ${NAMES.configMap}), what the API server allows, the rollout, each quote helper's version and each SGX node's EPC`)
    .action(async (flags: ClusterFlags) => {
      const client = await connect(flags);
      const { addonStatus } = await import("./cluster/status.js");
      const lines = await run(() => addonStatus(client, flags.namespace));
      for (const l of lines) print(l);
    });
}
