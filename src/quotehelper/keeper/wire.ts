// What the keeper sends beside the fd, and the helper's side: receive, check, decode once.
import { closeFd, isListening, receiveFd, SyscallError } from "./fd-passing.js";
import type { FileIdentity } from "../../common/socket-path.js";

export const KEEPER_PRODUCT = "confcom-socket-keeper";
export const KEEPER_PROTOCOL = 1;

export interface KeeperHello {
  product: typeof KEEPER_PRODUCT;
  protocol: number;
  pid: number;
  version: string;
  /** The AESM socket's file at the path, so the helper can tell whether it is still there. */
  socket: { dev: string; ino: string };
}

export class KeeperError extends Error {
  constructor(
    message: string,
    /** Nothing listens on the control path yet: a keeper starting beside us may still come. */
    readonly absent = false,
  ) {
    super(message);
  }
}

export interface KeptSocket {
  fd: number;
  identity: FileIdentity;
  keeperPid: number;
}

/** The AESM listening socket from the keeper on `controlPath`, or a KeeperError that says what is wrong. */
export function socketFromKeeper(controlPath: string, timeoutMs = 2000): KeptSocket {
  let msg;
  try {
    msg = receiveFd(controlPath, timeoutMs);
  } catch (err) {
    if (err instanceof SyscallError && (err.code === "ENOENT" || err.code === "ECONNREFUSED"))
      throw new KeeperError(`no socket keeper at ${controlPath} (${err.code}): start \`confcom quote-helper keeper\` first`, true);
    if (err instanceof SyscallError && err.code === "EAGAIN") throw new KeeperError(`${controlPath} sent nothing within ${timeoutMs} ms: not a confcom socket keeper`);
    throw new KeeperError(`cannot get the socket from the keeper at ${controlPath}: ${(err as Error).message}`);
  }
  const hello = decodeHello(msg.payload);
  if (!hello || msg.fd === undefined) {
    if (msg.fd !== undefined) closeFd(msg.fd);
    throw new KeeperError(
      msg.payload.length === 0 ? `${controlPath} closed without handing a socket (a keeper of another uid refuses us)` : `${controlPath} is not a confcom socket keeper`,
    );
  }
  if (hello.protocol !== KEEPER_PROTOCOL || !isListening(msg.fd)) {
    closeFd(msg.fd);
    throw new KeeperError(`the keeper at ${controlPath} (pid ${hello.pid}) speaks protocol ${hello.protocol} or sent no listening socket; this helper needs protocol ${KEEPER_PROTOCOL}`);
  }
  return { fd: msg.fd, identity: { dev: BigInt(hello.socket.dev), ino: BigInt(hello.socket.ino) }, keeperPid: hello.pid };
}

function decodeHello(payload: Buffer): KeeperHello | undefined {
  try {
    const v = JSON.parse(payload.toString("utf8")) as Partial<KeeperHello>;
    const num = /^\d{1,20}$/;
    if (v.product !== KEEPER_PRODUCT || !Number.isInteger(v.protocol) || !Number.isInteger(v.pid) || typeof v.version !== "string") return undefined;
    if (typeof v.socket?.dev !== "string" || typeof v.socket.ino !== "string" || !num.test(v.socket.dev) || !num.test(v.socket.ino)) return undefined;
    return v as KeeperHello;
  } catch {
    return undefined;
  }
}
