// `confcom demo`: the device plugin on a simulated SGX node, end to end.
import type { Command } from "commander";
import { CliError, parseCount } from "../cli/errors.js";
import { maxDevices } from "../deviceplugin/device-ids.js";

/** EPC of an Azure Standard_DC4s_v3 (and DC4ds_v3): 16 GiB, per MicrosoftDocs/azure-docs dcv3-series.md. */
export const DC4S_V3_EPC_MIB = 16 * 1024;

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("run the EPC device plugin against a simulated kubelet on a simulated SGX node and allocate 10 MiB")
    .option("--epc-mib <n>", "EPC of the simulated node in MiB (16384 = an Azure DC4s_v3)", parseCount("--epc-mib", maxDevices()), DC4S_V3_EPC_MIB)
    .option("--json", "print the result as JSON")
    .action(async (flags: { epcMib: number; json?: boolean }) => {
      if (flags.epcMib < 10) throw new CliError("--epc-mib must be at least 10 for a 10 MiB allocation", 2);
      const { formatDemo, runDemo } = await import("./demo.js");
      let report;
      try {
        report = await runDemo({ epcMiB: flags.epcMib });
      } catch (err) {
        throw new CliError(`demo failed: ${err instanceof Error ? err.message : String(err)}`, 1);
      }
      process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + "\n" : formatDemo(report));
    });
}
