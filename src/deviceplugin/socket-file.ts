// Unix-socket files in the device-plugin directory: which file is it (a restarted kubelet re-creates
// kubelet.sock with a new inode), and claiming our own socket path.
import { promises as fs } from "node:fs";
import { claimSocketPath } from "../common/socket-path.js";

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

export async function fileIdentity(file: string): Promise<FileIdentity | null> {
  try {
    const st = await fs.stat(file, { bigint: true });
    return { dev: Number(st.dev), ino: Number(st.ino), ctimeNs: st.ctimeNs };
  } catch {
    return null;
  }
}

export function sameFile(a: FileIdentity | null, b: FileIdentity | null): boolean {
  return a !== null && b !== null && a.dev === b.dev && a.ino === b.ino && a.ctimeNs === b.ctimeNs;
}

/** Makes our socket path free to bind (see claimSocketPath), naming the device plugin in the error. */
export const claimPluginSocket = (file: string) =>
  claimSocketPath(file, "another device plugin is serving it (stop it first, or choose another --socket-dir)");
