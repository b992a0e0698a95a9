// `confcom demo`: the main job on a simulated SGX node, end to end (see demo.ts).
import { Option, type Command } from "commander";
import { CliError, parseCount } from "../cli/errors.js";
import { maxDevices } from "../deviceplugin/device-ids.js";
import { DEFAULT_EPC_MIB } from "../sim/platform/init.js";

interface DemoFlags {
  epcMib: number;
  json?: boolean;
  keep?: boolean;
  seed?: string;
  fault?: string;
}

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "run the main job on a simulated SGX node, in a temp dir: a PCCS, the EPC device plugin and the quote helper, " +
        "a pod admitted with 10 MiB of EPC, and the attestation sample quoting out of process and verifying its quote",
    )
    .option("--epc-mib <n>", "EPC of the simulated node in MiB (16384 = an Azure DC4s_v3)", parseCount("--epc-mib", maxDevices()), DEFAULT_EPC_MIB)
    .option("--json", "print one JSON document (steps, timings, result) instead of progress lines")
    .option("--keep", "keep the temp dir (platform state, sockets) and print where it is")
    .option("--seed <seed>", "derive the simulated platform's secrets and keys from this seed")
    // For tests: make the demo fail at a known step.
    .addOption(new Option("--fault <fault>").env("CONFCOM_DEMO_FAULT").hideHelp())
    .action(async (flags: DemoFlags) => {
      if (flags.epcMib < 10) throw new CliError("--epc-mib must be at least 10 for a 10 MiB allocation", 2);
      const { DEMO_FAULTS, formatSummary, runDemo } = await import("./demo.js");
      if (flags.fault !== undefined && !(DEMO_FAULTS as readonly string[]).includes(flags.fault)) {
        throw new CliError(`--fault must be one of ${DEMO_FAULTS.join(", ")}, got "${flags.fault}"`, 2);
      }
      const { PlainReporter, TtyReporter, silentReporter } = await import("./progress.js");
      const reporter = flags.json ? silentReporter : process.stdout.isTTY ? new TtyReporter(process.stdout) : new PlainReporter(process.stdout);
      const abort = new AbortController();
      const interrupt = (signal: NodeJS.Signals) => abort.abort(signal);
      process.once("SIGINT", interrupt);
      process.once("SIGTERM", interrupt);
      const report = await runDemo({
        epcMiB: flags.epcMib,
        seed: flags.seed,
        keep: flags.keep,
        fault: flags.fault as (typeof DEMO_FAULTS)[number] | undefined,
        reporter,
        signal: abort.signal,
      });
      process.off("SIGINT", interrupt);
      process.off("SIGTERM", interrupt);
      process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + "\n" : formatSummary(report));
      if (abort.signal.aborted) {
        // 128 + the signal's number, as a shell reports a process the signal ended
        const code = abort.signal.reason === "SIGTERM" ? 143 : 130;
        throw new CliError(`demo interrupted (${String(abort.signal.reason)}); children stopped${report.kept ? "" : " and the temp dir removed"}`, code);
      }
      if (!report.ok) throw new CliError(`demo failed at step "${report.failedStep}"`, 1);
    });
}
