// Unix-socket files in the device-plugin directory: which file is it (a restarted kubelet re-creates
// kubelet.sock with a new inode), and claiming our own socket path.
import { promises as fs } from "node:fs";
import { claimSocketPath } from "../common/socket-path.js";

export { SocketInUseError } from "../common/socket-path.js";

/** A file's identity; a re-created socket gets a new inode. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

export async function fileIdentity(file: string): Promise<FileIdentity | null> {
  try {
    const st = await fs.stat(file);
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

export function sameFile(a: FileIdentity | null, b: FileIdentity | null): boolean {
  return a !== null && b !== null && a.dev === b.dev && a.ino === b.ino;
}

/** Makes our socket path free to bind (see claimSocketPath), naming the device plugin in the error. */
export const claimPluginSocket = (file: string) =>
  claimSocketPath(file, "another device plugin is serving it (stop it first, or choose another --socket-dir)");
