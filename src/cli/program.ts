// The `confcom` program: its command groups and the table of concerns that register subcommands.
// Only the concern that owns the command being run is loaded, so a daemon's memory holds its own code
// and not every other tool's.
import { Command } from "commander";
import { VERSION } from "./version.js";

/** The program and the command groups several concerns add subcommands to. */
export interface CommandGroups {
  program: Command;
  sim: Command;
  quote: Command;
  aesm: Command;
}

interface Concern {
  /** The top-level commands (or groups) this concern adds to. */
  commands: string[];
  register(groups: CommandGroups): Promise<void>;
}

// One line per concern (keep sorted).
export const CONCERNS: Concern[] = [
  { commands: ["addon", "webhook"], register: async (g) => (await import("../addon/cli.js")).registerAddonCommands(g.program) },
  { commands: ["attestation-service"], register: async (g) => (await import("../attestation/cli.js")).registerAttestationCommand(g.program) },
  { commands: ["demo"], register: async (g) => (await import("../demo/cli.js")).registerDemoCommand(g.program) },
  { commands: ["device-plugin"], register: async (g) => (await import("../deviceplugin/cli.js")).registerDevicePluginCommands(g.program) },
  { commands: ["pccs"], register: async (g) => (await import("../pccs/cli.js")).registerPccsCommand(g.program) },
  {
    commands: ["quote-helper", "aesm", "quote"],
    register: async (g) => (await import("../quotehelper/cli.js")).registerQuoteHelperCommands(g.program, g.quote, g.aesm),
  },
  { commands: ["quote"], register: async (g) => (await import("../sgx/cli.js")).registerQuoteInspect(g.quote) },
  { commands: ["quote"], register: async (g) => (await import("../verify/cli.js")).registerQuoteVerify(g.quote) },
  { commands: ["sample"], register: async (g) => (await import("../../examples/attestation/command.js")).registerSampleCommands(g.program) },
  { commands: ["sim"], register: async (g) => (await import("../sim/platform/cli.js")).registerSimPlatformCommands(g.sim) },
  { commands: ["sim"], register: async (g) => (await import("../sim/enclave/cli.js")).registerSimReport(g.sim) },
];

/** The first word of argv that is not an option: the top-level command, if any. */
function topLevelCommand(args: string[]): string | undefined {
  return args.find((a) => !a.startsWith("-"));
}

/**
 * Builds the program for `args` (argv without node and the script). Only the concerns owning the
 * requested command are loaded; with no known command (help, a typo) every concern is.
 */
export async function buildProgram(args: string[] = []): Promise<Command> {
  const program = new Command("confcom")
    .description("Confidential computing for Kubernetes clusters with Intel SGX nodes")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  const groups: CommandGroups = {
    program,
    sim: program.command("sim").description("the simulated SGX platform (state, enclaves, collateral)"),
    quote: program.command("quote").description("get, inspect and verify DCAP quotes"),
    aesm: program.command("aesm").description("talk to an AESM-compatible service"),
  };
  const wanted = topLevelCommand(args);
  const owners = CONCERNS.filter((c) => wanted !== undefined && c.commands.includes(wanted));
  for (const concern of owners.length > 0 ? owners : CONCERNS) await concern.register(groups);
  return program;
}
