// The quote helper's socket transport, modelled on aesmd's: one length-prefixed request per
// connection, one response, then close. It knows framing, limits and deadlines, nothing of quoting.
import { rm } from "node:fs/promises";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { FrameError, encodeFrame, readFrame } from "../aesm/framing.js";
import type { Logger } from "../common/log.js";
import { listen } from "../common/listen.js";

/** Answers one request payload; `undefined` closes the connection without a response. */
export type FrameHandler = (payload: Buffer) => Promise<Uint8Array | undefined>;

export interface FrameServerOptions {
  path: string;
  maxFrameSize: number;
  /** Time a client has, from connecting, to send its whole request. */
  readTimeoutMs: number;
  /** Connections beyond this are closed at once. */
  maxConnections: number;
  handle: FrameHandler;
  log: Logger;
}

export interface FrameServer {
  /** Open connections, for metrics and tests. */
  connections(): number;
  /**
   * Stops accepting (removes the socket path), answers every connection already accepted or queued,
   * and resolves once all are gone and the listener is closed.
   */
  close(): Promise<void>;
}

const BACKLOG_QUIET_MS = 50;
const BACKLOG_DRAIN_MAX_ROUNDS = 40;

export async function startFrameServer(opts: FrameServerOptions): Promise<FrameServer> {
  const open = new Set<net.Socket>();
  let accepted = 0;
  let closing = false;

  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    if (closing) return void socket.destroy();
    accepted++;
    open.add(socket);
    socket.once("close", () => open.delete(socket));
    socket.on("error", (err) => opts.log.debug({ err: err.message }, "client socket error"));
    void serve(socket);
  });
  server.maxConnections = opts.maxConnections;
  server.on("drop", () => opts.log.warn({ maxConnections: opts.maxConnections }, "connection refused: too many open connections"));

  async function serve(socket: net.Socket): Promise<void> {
    let payload: Buffer;
    try {
      payload = await readFrame(socket, { maxSize: opts.maxFrameSize, timeoutMs: opts.readTimeoutMs });
    } catch (err) {
      const reason = err instanceof FrameError ? err.reason : "socket-error";
      opts.log.warn({ reason, err: (err as Error).message }, "dropping connection: no valid request frame");
      socket.destroy();
      return;
    }
    const response = await opts.handle(payload);
    if (response === undefined) socket.destroy();
    else {
      socket.end(encodeFrame(response));
      // The client closes after reading; one that never does must not hold a slot (or shutdown).
      socket.setTimeout(opts.readTimeoutMs, () => socket.destroy());
    }
  }

  await listen(server, { path: opts.path });

  return {
    connections: () => open.size,
    close: async () => {
      // Unlinking the path stops new clients (they get ENOENT) while the listener still accepts what
      // is already queued in its backlog, so every client that got in is answered, none is reset.
      await rm(opts.path, { force: true });
      for (let i = 0; i < BACKLOG_DRAIN_MAX_ROUNDS; i++) {
        const before = accepted;
        await sleep(BACKLOG_QUIET_MS);
        if (accepted === before) break;
      }
      closing = true;
      // Clients still sending keep their read deadline; server.close resolves when all are gone.
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
