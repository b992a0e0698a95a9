// The socket keeper: owns the AESM listening socket so it outlives the quote helper. It binds the
// socket (staged and renamed into place like the helper's), never accepts on it, and hands a copy of
// the fd to a process of its own uid that connects to its pod-local control socket. While the helper
// is down, apps' connections wait in the kernel's backlog for the next helper instead of being refused.
import { promises as fs } from "node:fs";
import net from "node:net";
import path from "node:path";
import type { Logger } from "../../common/log.js";
import { listen } from "../../common/listen.js";
import { lstatIdentity, SocketInUseError, stageSocket, type FileIdentity, type SocketAccess } from "../../common/socket-path.js";
import { controlPathFor } from "../handover/control.js";
import { checkPredecessor } from "../handover/takeover.js";
import { prepareSocketPath } from "../socket-file.js";
import { closeFd, listeningSocket, peerCredentials, sendFd } from "./fd-passing.js";
import { KEEPER_PRODUCT, KEEPER_PROTOCOL, type KeeperHello } from "./wire.js";

export interface KeeperOptions {
  socketPath: string;
  controlPath: string;
  access: SocketAccess;
  backlog: number;
  version: string;
  log: Logger;
}

export interface Keeper {
  readonly identity: FileIdentity;
  /** Handed copies of the fd so far. */
  handed(): number;
  close(): Promise<void>;
}

const CONTROL_MODE = 0o600;
const MAX_CONTROL_CONNECTIONS = 8;

export async function startKeeper(opts: KeeperOptions): Promise<Keeper> {
  const { socketPath, controlPath, log } = opts;
  const euid = process.geteuid!();
  await privateDir(path.dirname(controlPath), euid);
  try {
    await prepareSocketPath(socketPath);
  } catch (err) {
    // A rollout: the old pod's helper serves the path. Take it over only if it is a confcom helper.
    if (!(err instanceof SocketInUseError && err.state === "live")) throw err;
    const old = await checkPredecessor(socketPath, controlPathFor(socketPath), opts.version);
    log.info({ predecessor: old.pid }, "a confcom quote helper serves the socket; replacing it (it drains and stops)");
  }
  let fd = -1;
  const staged = await stageSocket(socketPath, async (p) => void (fd = listeningSocket(p, opts.backlog)), opts.access).catch((err: unknown) => {
    if (fd >= 0) closeFd(fd);
    throw err;
  });
  try {
    await staged.publish();
  } catch (err) {
    await staged.discard();
    closeFd(fd);
    throw err;
  }
  const identity = staged.identity;
  const hello: KeeperHello = { product: KEEPER_PRODUCT, protocol: KEEPER_PROTOCOL, pid: process.pid, version: opts.version, socket: { dev: String(identity.dev), ino: String(identity.ino) } };
  const payload = Buffer.from(JSON.stringify(hello));
  let handed = 0;

  const control = net.createServer((conn) => {
    conn.on("error", () => undefined);
    conn.setTimeout(2000, () => conn.destroy());
    const cfd = (conn as unknown as { _handle?: { fd?: number } })._handle?.fd;
    try {
      if (typeof cfd !== "number" || cfd < 0) throw new Error("no fd for the control connection");
      const peer = peerCredentials(cfd);
      if (peer.uid !== euid) {
        log.warn({ peerPid: peer.pid, peerUid: peer.uid }, "refused the socket to a peer of another uid");
        return void conn.destroy();
      }
      sendFd(cfd, fd, payload);
      handed++;
      log.info({ peerPid: peer.pid, handed }, "handed the AESM socket over");
      conn.end();
    } catch (err) {
      log.warn({ err: (err as Error).message.slice(0, 200) }, "control connection failed");
      conn.destroy();
    }
  });
  control.maxConnections = MAX_CONTROL_CONNECTIONS;
  const stagedControl = await stageSocket(controlPath, (p) => listen(control, { path: p }), { mode: CONTROL_MODE });
  await stagedControl.publish();
  log.info({ socket: socketPath, control: controlPath, backlog: opts.backlog }, "socket keeper holding the AESM socket");

  let closing: Promise<void> | undefined;
  return {
    identity,
    handed: () => handed,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => control.close(() => resolve()));
        // Our public name only: a successor's socket at the path must survive.
        const at = await lstatIdentity(socketPath);
        if (at && at.dev === identity.dev && at.ino === identity.ino) await fs.rm(socketPath, { force: true });
        closeFd(fd);
      })()),
  };
}

/** The control directory: created 0700, and refused unless it is ours and private (never followed). */
async function privateDir(dir: string, euid: number): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fs.lstat(dir);
  if (!st.isDirectory() || st.uid !== euid || (st.mode & 0o077) !== 0)
    throw new Error(`${dir} must be a directory of uid ${euid} with mode 0700 (the control socket hands out the AESM socket)`);
}
