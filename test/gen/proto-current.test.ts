// The generated TypeScript under src/gen must be exactly what `npm run gen:proto` produces from proto/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "../support/paths.js";

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))],
  );
}

test("committed protobuf code matches a fresh generation", () => {
  const out = mkdtempSync(path.join(os.tmpdir(), "confcom-gen-"));
  try {
    const gen = path.join(out, "src/gen"); // buf -o prefixes the template's out path
    execFileSync(path.join(repoRoot, "node_modules/.bin/buf"), ["generate", "--template", "buf.gen.yaml", "-o", out], {
      cwd: repoRoot,
      stdio: "pipe",
      env: { ...process.env, PATH: `${path.join(repoRoot, "node_modules/.bin")}:${process.env.PATH ?? ""}` },
    });
    const fresh = listFiles(gen).sort();
    const committed = listFiles(path.join(repoRoot, "src/gen")).sort();
    assert.deepEqual(committed, fresh, "set of generated files differs: run npm run gen:proto");
    for (const f of fresh) {
      assert.equal(
        readFileSync(path.join(repoRoot, "src/gen", f), "utf8"),
        readFileSync(path.join(gen, f), "utf8"),
        `${f} is stale: run npm run gen:proto`,
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
