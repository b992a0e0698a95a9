// `confcom device-plugin`: the SGX EPC device plugin daemon. Also registers `confcom demo`, its showcase.
import { Option, type Command } from "commander";
import { CliError, parseCount } from "../cli/errors.js";
import { addDaemonOptions, type DaemonOptions } from "../cli/daemon-options.js";
import { createLogger } from "../common/log.js";
import { onShutdown } from "../common/shutdown.js";
import { extendedResourceNameProblem } from "../kubelet/resource-name.js";
import { maxDevices } from "./device-ids.js";
import {
  DEFAULT_ENCLAVE_DEVICES,
  DEFAULT_ENCLAVE_RESOURCE_NAME,
  DEFAULT_PROVISION_RESOURCE_NAME,
  DEFAULT_METRICS_ADDR,
  DEFAULT_RESOURCE_NAME,
  DEFAULT_SOCKET_DIR,
  EPC_MODES,
  type EpcMode,
} from "./defaults.js";
import { DEFAULT_SIM_STATE_ROOT, SIM_STATE_CONTAINER_PATH, SIM_STATE_ENV } from "./sim-node-paths.js";

interface DevicePluginFlags extends DaemonOptions {
  resourceName: string;
  socketDir: string;
  epcMib?: number;
  simulate?: boolean;
  simEpcMib?: number;
  simHostDevices?: boolean;
  simSeed?: string;
  simStateRoot?: string;
  devRoot?: string;
  hostDevPaths?: boolean;
  hostRoot: string;
  provisionAll?: boolean;
  /** The removed --provision / --no-provision, to say what replaced them. */
  provision?: boolean;
  epcMode: EpcMode;
  enclaveDevices: number;
  provisionDevices?: number;
  nodeName?: string;
  nodeLabels?: boolean;
  kubeconfig?: string;
}

function parseEpcMode(value: string): EpcMode {
  if (!(EPC_MODES as readonly string[]).includes(value)) throw new CliError(`--epc-mode must be one of ${EPC_MODES.join(", ")}, got "${value}"`, 2);
  return value as EpcMode;
}

export function registerDevicePluginCommands(program: Command): void {
  const cmd = program
    .command("device-plugin")
    .description(
      "serve the SGX EPC to the kubelet (one device per MiB, or as node-status capacity when too large) and keep it registered across kubelet restarts",
    )
    .option("--resource-name <name>", "extended resource to advertise", DEFAULT_RESOURCE_NAME)
    .option("--socket-dir <dir>", "the kubelet's device-plugin directory (kubelet.sock lives there)", DEFAULT_SOCKET_DIR)
    .option("--epc-mib <n>", "EPC size in MiB, instead of discovering it (sysfs, then CPUID)", parseCount("--epc-mib"))
    .option("--simulate", "no SGX hardware: simulated EPC and device nodes")
    .option("--sim-epc-mib <n>", "EPC size of the simulated platform in MiB (with --simulate)", parseCount("--sim-epc-mib"))
    .option(
      "--sim-host-devices",
      "with --simulate on a real node: hand the host's /dev/null as /dev/sgx_enclave and /dev/sgx_provision (no mknod, no privilege) instead of a temporary simulated dev root",
    )
    .option("--sim-seed <seed>", "with --simulate in a cluster: the cluster's simulated Intel (root CA, PCK CA, TCB signing key); this node's CPU comes from (seed, node name)")
    .option(
      "--sim-state-root <dir>",
      `with --sim-seed: host directory where this node's simulated platform is written as <dir>/<node name> (readable by all: simulated secrets are not secret) and mounted read-only into every allocation at ${SIM_STATE_CONTAINER_PATH}, with ${SIM_STATE_ENV} set`,
    )
    .option("--dev-root <dir>", "root under which /dev/sgx_* are found (default /; with --simulate, a temporary simulated one)")
    .option(
      "--host-dev-paths",
      "--dev-root is the host's / mounted here (e.g. the host's /dev at /host/dev with --dev-root /host): hand the nodes found to the kubelet by their host paths (/dev/...)",
    )
    .option("--host-root <dir>", "root under which /sys is read for EPC discovery and NFD's features.d is found", "/")
    .option(
      "--provision-devices <n>",
      `devices of ${DEFAULT_PROVISION_RESOURCE_NAME} (one per container that may provision: hands /dev/sgx_provision and /dev/sgx_enclave); 0 = not advertised (default: the --enclave-devices count)`,
      parseCount("--provision-devices", maxDevices()),
    )
    .option("--provision-all", "the old behaviour: every EPC and enclave allocation also hands /dev/sgx_provision")
    .addOption(new Option("--provision").hideHelp())
    .addOption(new Option("--no-provision").hideHelp())
    .option(
      "--epc-mode <mode>",
      "auto (devices when it fits), devices (one device per MiB) or node-status (EPC capacity patched on the Node)",
      parseEpcMode,
      "auto",
    )
    .option(
      "--enclave-devices <n>",
      `devices of ${DEFAULT_ENCLAVE_RESOURCE_NAME} (one per EPC-using container), in both modes`,
      parseCount("--enclave-devices", maxDevices()),
      DEFAULT_ENCLAVE_DEVICES,
    )
    .addOption(new Option("--node-name <name>", "this node, for its labels and node-status capacity").env("NODE_NAME"))
    .option("--node-labels", "label the node once SGX is found (default: when the node name is known)")
    .option("--no-node-labels", "neither label the node through the API nor write the NFD feature file")
    .option("--kubeconfig <file>", "reach the API with this kubeconfig (default: the pod's service account, if any)");
  addDaemonOptions(cmd, DEFAULT_METRICS_ADDR);
  cmd.addHelpText(
    "after",
    `
Node: once SGX is found, labels sgx.intel.com/capable=true and confcom.io/sgx-epc-mib=<MiB> go to
<host-root>/etc/kubernetes/node-feature-discovery/features.d/confcom-sgx when that directory exists (NFD),
and, with the node name, onto the Node through the API (retried with backoff while it is unreachable;
the kubelet side never waits for it).
/dev/sgx_provision (platform keys: only quoting enclaves need it) goes only with ${DEFAULT_PROVISION_RESOURCE_NAME},
unless --provision-all.
In node-status mode the EPC is the Node's status.capacity[--resource-name], kept there across kubelet
restarts and left in place on exit (pods also need ${DEFAULT_ENCLAVE_RESOURCE_NAME}, which goes with us).

Metrics on --metrics-addr (/metrics): confcom_device_plugin_registered, _resource_registered{resource},
_devices{health}, _epc_mib, _allocations_total{resource,result}, _registrations_total,
_reregistrations_total, _registration_errors_total, _last_error_info{message},
_list_and_watch_streams{resource}. /readyz is 200 only while every resource is registered and healthy
(node-status mode: and the capacity published).

Example (no SGX hardware, a kubelet directory of your own):
  confcom device-plugin --simulate --sim-epc-mib 16384 --socket-dir /tmp/dp --metrics-addr 127.0.0.1:0
A simulated node of a cluster (what \`confcom addon enable --simulate\` runs):
  confcom device-plugin --simulate --sim-host-devices --sim-seed S --sim-state-root ${DEFAULT_SIM_STATE_ROOT} --node-name NODE`,
  );
  cmd.action(async (flags: DevicePluginFlags) => {
    const problem = extendedResourceNameProblem(flags.resourceName);
    if (problem) throw new CliError(`--resource-name: ${problem}`, 2);
    for (const [flag, v] of [["--sim-epc-mib", flags.simEpcMib], ["--sim-host-devices", flags.simHostDevices], ["--sim-seed", flags.simSeed], ["--sim-state-root", flags.simStateRoot]] as const) {
      if (v !== undefined && !flags.simulate) throw new CliError(`${flag} needs --simulate`, 2);
    }
    if (flags.hostDevPaths && flags.devRoot === undefined) throw new CliError("--host-dev-paths needs --dev-root (where the host's / is mounted)", 2);
    if ((flags.simSeed === undefined) !== (flags.simStateRoot === undefined)) throw new CliError("--sim-seed and --sim-state-root go together", 2);
    if (flags.simSeed !== undefined && !flags.nodeName) throw new CliError("--sim-seed needs the node name (NODE_NAME or --node-name): each node is its own simulated CPU", 2);
    for (const [name, v] of [["--epc-mib", flags.epcMib], ["--sim-epc-mib", flags.simEpcMib], ["--enclave-devices", flags.enclaveDevices]] as const) {
      if (v === 0) throw new CliError(`${name} must be at least 1`, 2);
    }
    if (flags.provision !== undefined) {
      throw new CliError(
        flags.provision
          ? "--provision was replaced by --provision-all (every EPC and enclave allocation hands /dev/sgx_provision)"
          : `--no-provision is now the default (only ${DEFAULT_PROVISION_RESOURCE_NAME} hands /dev/sgx_provision); drop the flag, and add --provision-devices 0 to not advertise that resource`,
        2,
      );
    }
    if (flags.nodeLabels === true && !flags.nodeName) throw new CliError("--node-labels needs the node name (NODE_NAME or --node-name)", 2);
    const log = createLogger({ component: "device-plugin", level: flags.logLevel });
    // Loaded here, not at registration: other commands need none of gRPC, protobuf or prom-client.
    const { startDevicePlugin, EpcTooLargeError, NodeStatusModeError } = await import("./daemon.js");
    const { SocketInUseError } = await import("./socket-file.js");
    try {
      const daemon = await startDevicePlugin(
        {
          resourceName: flags.resourceName,
          socketDir: flags.socketDir,
          epcMiB: flags.epcMib,
          simulate: flags.simulate ?? false,
          simEpcMiB: flags.simEpcMib,
          simHostDevices: flags.simHostDevices === true,
          hostDevPaths: flags.hostDevPaths === true,
          ...(flags.simSeed !== undefined && flags.simStateRoot !== undefined ? { simNode: { seed: flags.simSeed, stateRoot: flags.simStateRoot } } : {}),
          devRoot: flags.devRoot,
          hostRoot: flags.hostRoot,
          provisionAll: flags.provisionAll ?? false,
          provisionDevices: flags.provisionDevices,
          metricsAddr: flags.metricsAddr,
          epcMode: flags.epcMode,
          enclaveDevices: flags.enclaveDevices,
          nodeName: flags.nodeName || undefined,
          nodeLabels: flags.nodeLabels,
          kubeconfig: flags.kubeconfig,
        },
        log,
      );
      onShutdown(log, () => daemon.stop());
    } catch (err) {
      // Startup problems (socket held by another plugin, EPC too large, no API for node-status mode,
      // metrics port taken) are the operator's to fix: a clear message, no stack.
      if (err instanceof SocketInUseError || err instanceof EpcTooLargeError || err instanceof NodeStatusModeError) throw new CliError(err.message, 1);
      throw new CliError(`device plugin failed to start: ${err instanceof Error ? err.message : String(err)}`, 1);
    }
  });
}
