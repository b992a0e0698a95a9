// Unix-socket files in the device-plugin directory: is one live, stale or absent, and which file is it.
import { promises as fs } from "node:fs";
import net from "node:net";

export type SocketState = "absent" | "live" | "stale" | "not-a-socket";

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

/** Connects to find out whether a server listens on `file`; a refused connection means a stale file. */
export async function probeSocket(file: string, timeoutMs = 1000): Promise<SocketState> {
  const st = await fs.lstat(file).catch(() => null);
  if (!st) return "absent";
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
  constructor(file: string, state: "live" | "not-a-socket") {
    super(
      state === "live"
        ? `${file} is in use: another device plugin is serving it (stop it first, or choose another --socket-dir)`
        : `${file} exists and is not a unix socket; refusing to replace it`,
    );
    this.name = "SocketInUseError";
  }
}

/** Makes `file` free to bind: absent stays absent, a stale socket is removed, anything else throws. */
export async function claimSocketPath(file: string): Promise<void> {
  const state = await probeSocket(file);
  if (state === "live" || state === "not-a-socket") throw new SocketInUseError(file, state);
  if (state === "stale") await fs.rm(file, { force: true });
}
