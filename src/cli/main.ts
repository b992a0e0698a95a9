#!/usr/bin/env node
// The `confcom` command: one binary whose subcommands start each daemon or tool.
// Each concern registers its own subcommands; this file only assembles them.
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { CliError } from "./errors.js";

const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };

export function buildProgram(): Command {
  const program = new Command("confcom")
    .description("Confidential computing for Kubernetes clusters with Intel SGX nodes")
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride();
  // Command groups shared by several concerns; each concern adds its subcommands to the group.
  const sim = program.command("sim").description("the simulated SGX platform (state, enclaves, collateral)");
  const quote = program.command("quote").description("get, inspect and verify DCAP quotes");
  const aesm = program.command("aesm").description("talk to an AESM-compatible service");
  void sim;
  void quote;
  void aesm;
  // Registrations, one line per concern (keep sorted):
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    if (err instanceof CliError) {
      process.stderr.write(`confcom: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`confcom: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
}

void main(process.argv);
