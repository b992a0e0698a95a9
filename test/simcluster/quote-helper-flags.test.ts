// Issue 10 item 3: `--backend=dcap` beside `--simulate` used to win silently; now the pair is an error
// naming both, before anything starts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cliEntry } from "../support/paths.js";

test("quote-helper: --backend and --simulate conflict, and the error names both", () => {
  for (const args of [["--backend=dcap", "--simulate"], ["--simulate", "--backend", "simulated"]]) {
    const r = spawnSync(process.execPath, [cliEntry, "quote-helper", ...args, "--sim-state", "/nonexistent", "--socket", "/nonexistent/aesm.socket"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /option '--backend <name>' cannot be used with option '--simulate'/);
  }
});
