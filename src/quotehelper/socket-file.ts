// The AESM socket file's life: aesmd owns a fixed path, so starting must not steal it from a live
// server (other than a confcom helper handing over), a stale file left by a crash is replaced, and the
// mode (0777 like aesmd) and group are set before the socket appears at the path (see stageSocket).
import { execFileSync } from "node:child_process";
import { claimSocketPath, type SocketState } from "../common/socket-path.js";

export { SocketInUseError } from "../common/socket-path.js";

export const AESM_IN_USE_HINT = "another AESM service is accepting connections there; stop it first";

/** Checks that `socketPath` may be taken (see claimSocketPath), naming the AESM service in the error. */
export const prepareSocketPath = (socketPath: string): Promise<SocketState> => claimSocketPath(socketPath, AESM_IN_USE_HINT);

/** A group name or gid as a gid. */
export function resolveGid(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  // Node has no getgrnam; getent consults the same NSS sources (files, LDAP, ...) as aesmd's libc would.
  try {
    const line = execFileSync("getent", ["group", group], { encoding: "utf8" });
    const gid = Number(line.split(":")[2]);
    if (Number.isInteger(gid)) return gid;
  } catch {
    /* fall through */
  }
  throw new Error(`unknown group "${group}"`);
}
