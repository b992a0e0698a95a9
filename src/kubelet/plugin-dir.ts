// The kubelet's device-plugin directory chores: create it, and clean it on start (`CleanupPluginDirectory`).
import { promises as fs } from "node:fs";
import path from "node:path";

/** Creates the directory (0750, as the kubelet) if missing. */
export async function ensurePluginDirectory(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o750 });
}

/**
 * Deletes every unix-socket file directly in `dir` (following symlinks, as the kubelet's `os.Stat` does);
 * directories and regular files such as `kubelet_internal_checkpoint` stay. Returns the names removed.
 */
export async function cleanupPluginDirectory(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.readdir(dir)) {
    const file = path.join(dir, name);
    const stat = await fs.stat(file).catch(() => null); // vanished, or a dangling symlink: leave it
    if (stat === null || !stat.isSocket()) continue;
    await fs.rm(file, { force: true });
    removed.push(name);
  }
  return removed;
}
