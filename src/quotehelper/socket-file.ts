// The socket file's life: aesmd owns a fixed path, so starting must not steal it from a live server,
// must clear a stale file left by a crash, and must set the mode (0777 like aesmd) and group.
import fs from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { claimSocketPath } from "../common/socket-path.js";

export { SocketInUseError } from "../common/socket-path.js";

/** Makes `socketPath` ready to bind (see claimSocketPath), naming the AESM service in the error. */
export const prepareSocketPath = (socketPath: string) =>
  claimSocketPath(socketPath, "another AESM service is accepting connections there; stop it first");

/** Applies the mode and optional group (name or gid) to the bound socket file. */
export async function setSocketAccess(socketPath: string, mode: number, group?: string): Promise<void> {
  if (group !== undefined) await fs.chown(socketPath, -1, resolveGid(group));
  await fs.chmod(socketPath, mode);
}

function resolveGid(group: string): number {
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

export async function removeSocketFile(socketPath: string): Promise<void> {
  await fs.rm(socketPath, { force: true });
}
