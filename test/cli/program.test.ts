// The lazy command table must stay complete: every top-level command of the full program is owned by
// a concern that declares it, so `confcom <command>` loads what it needs and nothing else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { buildProgram, CONCERNS } from "../../src/cli/program.js";
import { cliEntry } from "../support/paths.js";

const GROUPS = ["sim", "quote", "aesm"];

test("every top-level command is declared by the concern that registers it", async () => {
  const full = await buildProgram([]);
  const names = full.commands.map((c) => c.name());
  for (const name of names) {
    const lazy = await buildProgram([name]);
    const cmd = lazy.commands.find((c) => c.name() === name);
    assert.ok(cmd, `"${name}" is missing when only its owners are loaded: add it to a concern's commands`);
    const fullCmd = full.commands.find((c) => c.name() === name)!;
    assert.deepEqual(
      cmd.commands.map((c) => c.name()).sort(),
      fullCmd.commands.map((c) => c.name()).sort(),
      `subcommands of "${name}" differ when loaded lazily`,
    );
  }
  for (const g of GROUPS) assert.ok(names.includes(g), `group ${g} exists`);
  assert.ok(CONCERNS.every((c) => c.commands.length > 0));
});

test("options before the command do not hide it, and --version needs no concern", async () => {
  const program = await buildProgram(["--log-level", "debug"]);
  assert.ok(program.commands.length > GROUPS.length, "unknown first word loads every concern");
  const out = execFileSync(process.execPath, [cliEntry, "--version"], { encoding: "utf8" });
  assert.match(out.trim(), /^\d+\.\d+\.\d+/);
});
