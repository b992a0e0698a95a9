// `confcom sample attestation [flags]`: the sample from the confcom image itself, so a simulated cluster
// needs one image (examples/attestation/job-simulated.yaml runs this). Its flags are the sample's own.
import type { Command } from "commander";

export function registerSampleCommands(program: Command): void {
  const sample = program.command("sample").description("sample workloads shipped in the image");
  sample
    .command("attestation")
    .description("the attestation sample (examples/attestation): quote a simulated enclave's report and verify it; `confcom sample attestation --help` for its flags")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument("[flags...]", "the sample's flags (or its environment variables, as the Job sets them)")
    .action(async () => {
      const { runAttestationApp } = await import("./main.js");
      // Everything after the subcommand, untouched: the sample parses its own flags.
      const argv = process.argv;
      const at = argv.findIndex((a, i) => a === "attestation" && argv[i - 1] === "sample");
      process.exitCode = await runAttestationApp(argv.slice(at + 1));
    });
}
