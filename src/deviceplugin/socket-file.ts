// Unix-socket files in the device-plugin directory: which file is it (a restarted kubelet re-creates
// kubelet.sock with a new inode), and serving our own socket path without a path race.
import { claimSocketPath, lstatIdentity, stageSocket, type FileIdentity } from "../common/socket-path.js";

export { SocketInUseError, sameFile, type FileIdentity } from "../common/socket-path.js";

/** Only the kubelet (root) connects to a plugin socket. */
export const PLUGIN_SOCKET_MODE = 0o600;

export async function fileIdentity(file: string): Promise<FileIdentity | null> {
  const id = await lstatIdentity(file);
  return id && { dev: id.dev, ino: id.ino };
}

/**
 * Serves our socket at `file`: refuses a live one (SocketInUseError), binds with `bind` under a
 * private name, sets the mode there and renames it into place (see stageSocket). Returns its identity.
 */
export async function servePluginSocket(file: string, bind: (bindPath: string) => Promise<void>): Promise<FileIdentity> {
  await claimSocketPath(file, "another device plugin is serving it (stop it first, or choose another --socket-dir)");
  const staged = await stageSocket(file, bind, { mode: PLUGIN_SOCKET_MODE });
  await staged.publish();
  return staged.identity;
}
