// The socket file's life: aesmd owns a fixed path, so starting must not steal it from a live server,
// must clear a stale file left by a crash, and must set the mode (0777 like aesmd) and group.
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { execFileSync } from "node:child_process";

export class SocketInUseError extends Error {
  constructor(readonly socketPath: string) {
    super(`${socketPath} is in use: another AESM service is accepting connections there; stop it first`);
    this.name = "SocketInUseError";
  }
}

/** Makes `socketPath` ready to bind: creates its directory, refuses a live socket, removes a stale one. */
export async function prepareSocketPath(socketPath: string): Promise<void> {
  await fs.mkdir(path.dirname(socketPath), { recursive: true });
  let stat;
  try {
    stat = await fs.lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if (!stat.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  if (await isLive(socketPath)) throw new SocketInUseError(socketPath);
  await fs.rm(socketPath, { force: true });
}

function isLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection(socketPath);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

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
