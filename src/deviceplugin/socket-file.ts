// Unix-socket files in the device-plugin directory: which file is it (a restarted kubelet re-creates
// kubelet.sock with a new inode), and serving our own socket path without a path race.
//
// The stats (and StagedSocket's rename) that a kubelet restart waits on are synchronous: on the kubelet's
// local, root-only directory they take microseconds, where each async call's thread-pool round trip
// costs milliseconds on a loaded node (p99 1.8 ms against 77 µs measured here), and a restart makes ten.
import { promises as fs, lstatSync } from "node:fs";
import path from "node:path";
import { claimSocketPath, probeSocket, stageSocket, STAGING_DIR_PREFIX, type StagedSocket } from "../common/socket-path.js";

export { SocketInUseError, type StagedSocket } from "../common/socket-path.js";

/**
 * A file's identity. A re-created socket usually gets a new inode, but filesystems reuse a freed inode
 * number at once (a kubelet restart often gets the same one back), so the inode-change time counts too.
 */
export interface FileIdentity {
  dev: number;
  ino: number;
  ctimeNs: bigint;
}

/** The identity of what is at `file` itself (lstat: a symlink there is never followed). */
export function fileIdentity(file: string): FileIdentity | null {
  const st = lstatSync(file, { bigint: true, throwIfNoEntry: false });
  return st ? { dev: Number(st.dev), ino: Number(st.ino), ctimeNs: st.ctimeNs } : null;
}

export function sameFile(a: FileIdentity | null, b: FileIdentity | null): boolean {
  return a !== null && b !== null && a.dev === b.dev && a.ino === b.ino && a.ctimeNs === b.ctimeNs;
}

const IN_USE_HINT = "another device plugin is serving it (stop it first, or choose another --socket-dir)";

/** Only the kubelet (root) connects to a plugin socket. */
export const PLUGIN_SOCKET_MODE = 0o600;

/**
 * Binds a socket for `file` with `bind` under a private name in its directory and sets its mode there,
 * not yet at `file` (see stageSocket). The kubelet's clean-up removes only sockets directly in its
 * directory, so a staged socket survives a kubelet restart, ready to be published at once.
 */
export function stagePluginSocket(file: string, bind: (bindPath: string) => Promise<void>): Promise<StagedSocket> {
  return stageSocket(file, bind, { mode: PLUGIN_SOCKET_MODE });
}

/**
 * Puts a staged socket at `file`: refuses a live one there (SocketInUseError) and renames it into place.
 * Returns its identity as published (the rename changed its ctime), or null when it was removed at once:
 * a kubelet starting up cleans the directory, which is no error, only a reason to serve again after it.
 * The caller discards it on failure.
 */
export async function publishPluginSocket(file: string, staged: StagedSocket): Promise<FileIdentity | null> {
  // Only something already at the path needs the probe (a connect); after a kubelet's clean-up nothing is.
  if (fileIdentity(file)) await claimSocketPath(file, IN_USE_HINT);
  await staged.publish();
  return fileIdentity(file);
}

/** A staging directory stays empty only between its mkdir and its bind: milliseconds, unless its maker died. */
export const ABANDONED_EMPTY_STAGING_MS = 60_000;

/**
 * Removes what a crashed plugin left staged in `dir` (its spare servers): private directories of ours
 * (owned by us, mode 0700, not symlinks) holding one socket nobody listens on, or nothing for over
 * ABANDONED_EMPTY_STAGING_MS (killed between mkdir and bind). A live spare (another loop's) and one
 * still being made are left alone. Returns how many went.
 */
export async function removeDeadStagedSockets(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await fs.readdir(dir).catch(() => [])) {
    if (!name.startsWith(STAGING_DIR_PREFIX)) continue;
    const priv = path.join(dir, name);
    const st = lstatSync(priv, { throwIfNoEntry: false });
    if (!st?.isDirectory() || st.uid !== process.geteuid!() || (st.mode & 0o077) !== 0) continue;
    const inside = await fs.readdir(priv).catch(() => []);
    const abandoned = inside.length === 0 && Date.now() - st.mtimeMs > ABANDONED_EMPTY_STAGING_MS;
    const dead = inside.length === 1 && (await probeSocket(path.join(priv, inside[0]!))) === "stale";
    if (!abandoned && !dead) continue;
    await fs.rm(priv, { recursive: true, force: true });
    removed++;
  }
  return removed;
}
