// Unix-socket files that daemons bind at a well-known path (the device plugin's socket, aesm.socket):
// is one live, stale or absent, and putting our own there without a path race.
//
// A socket is never bound at its public path. It is bound inside a private directory we create beside
// the path (mkdtemp: 0700, ours, on the same filesystem), its mode and group are set there (nobody else
// can swap that name), lstat confirms it is a socket we own with that mode, and rename() moves it over
// the public path. rename replaces whatever name is there (a stale socket, a planted symlink) without
// following it, and the path never stops existing while a live socket is replaced.
import { randomBytes } from "node:crypto";
import { promises as fs, renameSync, rmdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";

export type SocketState = "absent" | "live" | "stale" | "symlink" | "not-a-socket";

/** A file's identity; a re-created or replaced socket gets a new inode. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

/** lstat identity (never follows a symlink at the path); null when nothing is there. */
export async function lstatIdentity(file: string): Promise<(FileIdentity & { socket: boolean; uid: number }) | null> {
  try {
    const st = await fs.lstat(file, { bigint: true });
    return { dev: st.dev, ino: st.ino, socket: st.isSocket(), uid: Number(st.uid) };
  } catch {
    return null;
  }
}

export function sameFile(a: FileIdentity | null | undefined, b: FileIdentity | null | undefined): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino;
}

/** Connects to find out whether a server listens on `file`; a refused connection means a stale file. */
export async function probeSocket(file: string, timeoutMs = 1000): Promise<SocketState> {
  const st = await fs.lstat(file).catch(() => null);
  if (!st) return "absent";
  if (st.isSymbolicLink()) return "symlink";
  if (!st.isSocket()) return "not-a-socket";
  return new Promise((resolve) => {
    const conn = net.connect(file);
    const done = (state: SocketState) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(state);
    };
    // A listener that accepts nothing within the timeout is still someone's live socket: do not steal it.
    const timer = setTimeout(() => done("live"), timeoutMs);
    conn.once("connect", () => done("live"));
    conn.once("error", (err: NodeJS.ErrnoException) => done(err.code === "ENOENT" ? "absent" : "stale"));
  });
}

export class SocketInUseError extends Error {
  constructor(
    readonly socketPath: string,
    readonly state: "live" | "not-a-socket",
    /** What to tell the operator about the live server, e.g. "another device plugin is serving it". */
    inUseHint: string,
  ) {
    super(state === "live" ? `${socketPath} is in use: ${inUseHint}` : `${socketPath} exists and is not a unix socket; refusing to replace it`);
    this.name = "SocketInUseError";
  }
}

/**
 * Checks that `file` may be taken: creates its directory, and throws SocketInUseError for a live
 * socket or a file that is not a socket. An absent path, a stale socket or a symlink (never followed)
 * is fine: publishing a staged socket renames over it. Returns what was there.
 */
export async function claimSocketPath(file: string, inUseHint: string): Promise<SocketState> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const state = await probeSocket(file);
  if (state === "live" || state === "not-a-socket") throw new SocketInUseError(file, state, inUseHint);
  return state;
}

export interface SocketAccess {
  /** Permission bits of the socket file. */
  mode: number;
  /** Group id to own it; undefined keeps ours. */
  gid?: number;
}

/** A socket bound and configured under a private name, not yet at its public path. */
export interface StagedSocket {
  /** Where it is bound now (inside the private directory). */
  readonly bindPath: string;
  readonly identity: FileIdentity;
  /** Renames it over `target` (atomic) and removes the private directory. */
  publish(): Promise<void>;
  /** Removes the private directory and what is in it, if not published. */
  discard(): Promise<void>;
}

/** The name every private staging directory starts with, beside the socket it stages. */
export const STAGING_DIR_PREFIX = ".confcom-";

// sun_path is 108 bytes including the NUL.
const MAX_SOCKET_PATH = 107;

/**
 * Binds a socket for `target` race-free (see the top of this file): `bind(bindPath)` must bind the
 * server there. Throws if the bound file is not a socket we own with `access.mode` (someone raced us,
 * which the private directory rules out for everyone but root).
 */
export async function stageSocket(target: string, bind: (bindPath: string) => Promise<void>, access: SocketAccess): Promise<StagedSocket> {
  const dir = path.dirname(target);
  await fs.mkdir(dir, { recursive: true });
  const priv = await fs.mkdtemp(path.join(dir, STAGING_DIR_PREFIX));
  // A random leaf too: the private directory's name is visible to anyone who can list `dir`, and the
  // server's close (libuv) unlinks the bind path by name long after the directory is gone.
  const bindPath = path.join(priv, randomBytes(6).toString("hex"));
  let published = false;
  const discard = async () => {
    if (!published) await fs.rm(priv, { recursive: true, force: true });
  };
  try {
    if (Buffer.byteLength(bindPath) > MAX_SOCKET_PATH) throw new Error(`socket path too long to stage beside ${target} (${bindPath.length} > ${MAX_SOCKET_PATH} bytes); use a shorter path`);
    const pst = await fs.lstat(priv);
    if (!pst.isDirectory() || pst.uid !== process.geteuid!() || (pst.mode & 0o077) !== 0) throw new Error(`${priv} is not a private directory of ours`);
    await bind(bindPath);
    if (access.gid !== undefined) await fs.lchown(bindPath, -1, access.gid);
    await fs.chmod(bindPath, access.mode);
    const st = await fs.lstat(bindPath, { bigint: true });
    const mode = Number(st.mode & 0o7777n);
    if (!st.isSocket() || Number(st.uid) !== process.geteuid!() || mode !== access.mode || (access.gid !== undefined && Number(st.gid) !== access.gid))
      throw new Error(`${bindPath} is not the socket we bound (mode ${mode.toString(8)}, uid ${st.uid}); refusing to publish it`);
    const identity = { dev: st.dev, ino: st.ino };
    return {
      bindPath,
      identity,
      // Synchronous: a rename and an rmdir in the socket's own directory take microseconds, and a device
      // plugin serving again after a kubelet restart waits on them (a thread-pool round trip each, else).
      publish: async () => {
        renameSync(bindPath, target);
        published = true;
        try {
          rmdirSync(priv);
        } catch {
          // Already gone, or not empty: nothing of ours to publish is left in it.
        }
      },
      discard,
    };
  } catch (err) {
    await discard();
    throw err;
  }
}
