#!/usr/bin/env node
// The `confcom` command: one binary whose subcommands start each daemon or tool (see program.ts).
import { CommanderError } from "commander";
import { CliError } from "./errors.js";
import { buildProgram } from "./program.js";

async function main(argv: string[]): Promise<void> {
  try {
    const program = await buildProgram(argv.slice(2));
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
