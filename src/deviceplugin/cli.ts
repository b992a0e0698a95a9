// `confcom device-plugin`: the SGX EPC device plugin daemon. Also registers `confcom demo`, its showcase.
import type { Command } from "commander";
import { CliError, parseCount } from "../cli/errors.js";
import { addDaemonOptions, type DaemonOptions } from "../cli/daemon-options.js";
import { createLogger } from "../common/log.js";
import { onShutdown } from "../common/shutdown.js";
import { extendedResourceNameProblem } from "../kubelet/resource-name.js";
import { DEFAULT_METRICS_ADDR, DEFAULT_RESOURCE_NAME, DEFAULT_SOCKET_DIR } from "./defaults.js";

interface DevicePluginFlags extends DaemonOptions {
  resourceName: string;
  socketDir: string;
  epcMib?: number;
  simulate?: boolean;
  simEpcMib?: number;
  devRoot?: string;
  hostRoot: string;
  provision: boolean;
}

export function registerDevicePluginCommands(program: Command): void {
  const cmd = program
    .command("device-plugin")
    .description(
      "serve the SGX EPC as a kubelet device-plugin resource, one device per MiB, and keep it registered across kubelet restarts",
    )
    .option("--resource-name <name>", "extended resource to advertise", DEFAULT_RESOURCE_NAME)
    .option("--socket-dir <dir>", "the kubelet's device-plugin directory (kubelet.sock lives there)", DEFAULT_SOCKET_DIR)
    .option("--epc-mib <n>", "EPC size in MiB, instead of discovering it (sysfs, then CPUID)", parseCount("--epc-mib"))
    .option("--simulate", "no SGX hardware: simulated EPC and device nodes")
    .option("--sim-epc-mib <n>", "EPC size of the simulated platform in MiB (with --simulate)", parseCount("--sim-epc-mib"))
    .option("--dev-root <dir>", "root under which /dev/sgx_* are found (default /; with --simulate, a temporary simulated one)")
    .option("--host-root <dir>", "root under which /sys is read for EPC discovery", "/")
    .option("--provision", "give containers the SGX provision device node too", true)
    .option("--no-provision", "never give containers the provision device node");
  addDaemonOptions(cmd, DEFAULT_METRICS_ADDR);
  cmd.addHelpText(
    "after",
    `
Metrics on --metrics-addr (/metrics): confcom_device_plugin_registered, _devices{health}, _epc_mib,
_allocations_total{result}, _registrations_total, _reregistrations_total, _registration_errors_total,
_last_error_info{message}, _list_and_watch_streams. /readyz is 200 only while registered and healthy.

Example (no SGX hardware, a kubelet directory of your own):
  confcom device-plugin --simulate --sim-epc-mib 16384 --socket-dir /tmp/dp --metrics-addr 127.0.0.1:0`,
  );
  cmd.action(async (flags: DevicePluginFlags) => {
    const problem = extendedResourceNameProblem(flags.resourceName);
    if (problem) throw new CliError(`--resource-name: ${problem}`, 2);
    if (flags.simEpcMib !== undefined && !flags.simulate) throw new CliError("--sim-epc-mib needs --simulate", 2);
    for (const [name, v] of [["--epc-mib", flags.epcMib], ["--sim-epc-mib", flags.simEpcMib]] as const) {
      if (v === 0) throw new CliError(`${name} must be at least 1`, 2);
    }
    const log = createLogger({ component: "device-plugin", level: flags.logLevel });
    // Loaded here, not at registration: other commands need none of gRPC, protobuf or prom-client.
    const { startDevicePlugin, EpcTooLargeError } = await import("./daemon.js");
    const { SocketInUseError } = await import("./socket-file.js");
    try {
      const daemon = await startDevicePlugin(
        {
          resourceName: flags.resourceName,
          socketDir: flags.socketDir,
          epcMiB: flags.epcMib,
          simulate: flags.simulate ?? false,
          simEpcMiB: flags.simEpcMib,
          devRoot: flags.devRoot,
          hostRoot: flags.hostRoot,
          provision: flags.provision,
          metricsAddr: flags.metricsAddr,
        },
        log,
      );
      onShutdown(log, () => daemon.stop());
    } catch (err) {
      // Startup problems (socket held by another plugin, EPC too large, metrics port taken) are the
      // operator's to fix: a clear message, no stack.
      if (err instanceof SocketInUseError || err instanceof EpcTooLargeError) throw new CliError(err.message, 1);
      throw new CliError(`device plugin failed to start: ${err instanceof Error ? err.message : String(err)}`, 1);
    }
  });
}
