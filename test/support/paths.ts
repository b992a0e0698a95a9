// Paths tests share: the repository root (tests run from dist/test/...), the CLI entry and shared/.
import { fileURLToPath } from "node:url";
import path from "node:path";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const cliEntry = path.join(repoRoot, "dist/src/cli/main.js");
/** shared/ beside the repository; CONFCOM_SHARED_DIR overrides it (a worktree checked out elsewhere). */
export const sharedDir = path.resolve(process.env.CONFCOM_SHARED_DIR ?? path.join(repoRoot, "../shared"));
