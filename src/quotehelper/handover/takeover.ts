// A starting helper's view of a live server on its path: a confcom quote helper it may take over, or
// anything else, which it leaves alone with SocketInUseError.
import { lstatIdentity, SocketInUseError, type FileIdentity } from "../../common/socket-path.js";
import { AESM_IN_USE_HINT } from "../socket-file.js";
import { COMPATIBLE_PROTOCOLS, helloControl, type HelloReply, type WireIdentity } from "./control.js";

/** A live confcom quote helper whose handover protocol this build does not speak. */
export class HandoverRefusedError extends SocketInUseError {
  constructor(socketPath: string, peer: HelloReply, ourVersion: string) {
    super(socketPath, "live", AESM_IN_USE_HINT);
    this.name = "HandoverRefusedError";
    this.message =
      `${socketPath} is served by confcom quote helper ${peer.version.slice(0, 64)} (pid ${peer.pid}) speaking handover protocol ${peer.protocol}; ` +
      `this one (${ourVersion}) takes over only protocol ${COMPATIBLE_PROTOCOLS.join(", ")}: stop it first`;
  }
}

export const toWire = (id: FileIdentity): WireIdentity => ({ dev: String(id.dev), ino: String(id.ino) });
export const sameWire = (id: FileIdentity | null | undefined, w: WireIdentity) => !!id && String(id.dev) === w.dev && String(id.ino) === w.ino;

/**
 * The live server at `socketPath` as a predecessor to take over: it must answer the handshake on
 * `controlPath` as a confcom quote helper of a compatible protocol, serving that very socket.
 */
export async function checkPredecessor(socketPath: string, controlPath: string, ourVersion: string): Promise<HelloReply> {
  const hello = await helloControl(controlPath);
  if (!hello) throw new SocketInUseError(socketPath, "live", `${AESM_IN_USE_HINT} (not a confcom quote helper: nothing answers the handover handshake on ${controlPath})`);
  if (!COMPATIBLE_PROTOCOLS.includes(hello.protocol)) throw new HandoverRefusedError(socketPath, hello, ourVersion);
  if (!sameWire(await lstatIdentity(socketPath), hello.socket))
    throw new SocketInUseError(socketPath, "live", `${AESM_IN_USE_HINT} (the confcom helper answering on ${controlPath}, pid ${hello.pid}, serves another socket)`);
  return hello;
}
