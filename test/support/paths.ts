// Paths tests share: the repository root (tests run from dist/test/...) and the CLI entry. Data from
// outside the repository is found through intel-sample.ts only.
import { fileURLToPath } from "node:url";
import path from "node:path";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const cliEntry = path.join(repoRoot, "dist/src/cli/main.js");
