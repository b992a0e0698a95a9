// Unix-socket files that daemons bind at a well-known path (the device plugin's socket, aesm.socket):
// is one live, stale or absent, and claiming the path without stealing it from a live server.
import { promises as fs } from "node:fs";
import net from "node:net";
import path from "node:path";

export type SocketState = "absent" | "live" | "stale" | "not-a-socket";

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
 * Makes `file` free to bind: creates its directory, leaves an absent path alone, removes a stale
 * socket, and throws SocketInUseError for a live one or a file that is not a socket.
 */
export async function claimSocketPath(file: string, inUseHint: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const state = await probeSocket(file);
  if (state === "live" || state === "not-a-socket") throw new SocketInUseError(file, state, inUseHint);
  if (state === "stale") await fs.rm(file, { force: true });
}
