// Unix-socket files in the device-plugin directory: which file is it (a restarted kubelet re-creates
// kubelet.sock with a new inode), and serving our own socket path without a path race.
import { promises as fs } from "node:fs";
import { claimSocketPath, stageSocket } from "../common/socket-path.js";

export { SocketInUseError } from "../common/socket-path.js";

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
export async function fileIdentity(file: string): Promise<FileIdentity | null> {
  try {
    const st = await fs.lstat(file, { bigint: true });
    return { dev: Number(st.dev), ino: Number(st.ino), ctimeNs: st.ctimeNs };
  } catch {
    return null;
  }
}

export function sameFile(a: FileIdentity | null, b: FileIdentity | null): boolean {
  return a !== null && b !== null && a.dev === b.dev && a.ino === b.ino && a.ctimeNs === b.ctimeNs;
}

/** Only the kubelet (root) connects to a plugin socket. */
export const PLUGIN_SOCKET_MODE = 0o600;

/**
 * Serves our socket at `file`: refuses a live one (SocketInUseError), binds with `bind` under a
 * private name, sets the mode there and renames it into place (see stageSocket). Returns its identity
 * as published (the rename changed its ctime).
 */
export async function servePluginSocket(file: string, bind: (bindPath: string) => Promise<void>): Promise<FileIdentity> {
  await claimSocketPath(file, "another device plugin is serving it (stop it first, or choose another --socket-dir)");
  const staged = await stageSocket(file, bind, { mode: PLUGIN_SOCKET_MODE });
  await staged.publish();
  const id = await fileIdentity(file);
  if (!id) throw new Error(`${file} disappeared as soon as it was served`);
  return id;
}
