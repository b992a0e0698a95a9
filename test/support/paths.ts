// Paths tests share: the repository root (tests run from dist/test/...), the CLI entry and shared/.
import { fileURLToPath } from "node:url";
import path from "node:path";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const cliEntry = path.join(repoRoot, "dist/src/cli/main.js");
export const sharedDir = path.resolve(repoRoot, "../shared");
