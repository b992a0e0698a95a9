// The Node Feature Discovery feature file: `name=value` lines in NFD's features.d, which the NFD worker turns
// into node labels. Written only where that directory already exists (NFD is installed), atomically: a hidden
// temp file (NFD skips names starting with ".") renamed over the real one, so NFD never reads half a file.
import { promises as fs } from "node:fs";
import path from "node:path";

export const NFD_FEATURES_DIR = "etc/kubernetes/node-feature-discovery/features.d";
export const NFD_FEATURE_FILE = "confcom-sgx";

/** The file's path under `hostRoot` when it was written; null when there is no features.d (no NFD). */
export async function writeNfdFeatureFile(hostRoot: string, labels: Record<string, string>): Promise<string | null> {
  const dir = path.join(hostRoot, NFD_FEATURES_DIR);
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat?.isDirectory()) return null;
  const file = path.join(dir, NFD_FEATURE_FILE);
  const temp = path.join(dir, `.${NFD_FEATURE_FILE}.${process.pid}.tmp`);
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
  try {
    await fs.writeFile(temp, text, { mode: 0o644 });
    await fs.rename(temp, file);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  return file;
}
