// The quote helper's socket transport, modelled on aesmd's: one length-prefixed request per
// connection, one response, then close. It knows framing, limits and deadlines, nothing of quoting.
// The socket is 0777 on a node shared by tenants, so every limit says who loses when it is reached:
// at the connection cap the oldest connection still sending its request (idle ones first), past the
// unsent-bytes budget the slowest reader; never the client that is being served.
import { rm } from "node:fs/promises";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { FrameError, readFrame, type WireFrame } from "../aesm/framing.js";
import type { Logger } from "../common/log.js";
import { listen } from "../common/listen.js";
import { throttledLog } from "../common/throttled-log.js";
import { ResponseWriter } from "./response-writer.js";

/** Answers one request payload with a whole response frame; `undefined` closes the connection without a response. */
export type FrameHandler = (payload: Buffer) => Promise<WireFrame | undefined>;

/** Why the transport closed a connection without (all of) its answer. */
export type DropReason = "evicted-idle" | "refused-at-limit" | "shed-slow-reader" | "write-timeout" | "too-large" | "truncated" | "timeout" | "socket-error";

export interface FrameServerOptions {
  path: string;
  /** Serve this listening socket (the keeper's) instead of binding `path`; close leaves the path alone. */
  fd?: number;
  maxFrameSize: number;
  /** Time a client has, from connecting, to send its whole request. */
  readTimeoutMs: number;
  /** Time a client has, from the start of its response, to read all of it and close. */
  writeTimeoutMs: number;
  /** At this many open connections, a new one evicts the oldest that has not sent a whole request. */
  maxConnections: number;
  /** Response bytes not yet taken by the kernel, over all connections; past it the slowest readers are cut. */
  maxUnsentBytes: number;
  handle: FrameHandler;
  log: Logger;
  onDrop?(reason: DropReason): void;
  /** Interval of the throttled warnings (one line per interval with counts); default 10 s. */
  logIntervalMs?: number;
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

interface Conn {
  socket: net.Socket;
  writer?: ResponseWriter;
  /** Closed by the transport on purpose: its read failure is not logged again. */
  dropped?: boolean;
}

const BACKLOG_QUIET_MS = 50;
const BACKLOG_DRAIN_MAX_ROUNDS = 40;

export async function startFrameServer(opts: FrameServerOptions): Promise<FrameServer> {
  const open = new Set<Conn>();
  // Insertion order is accept order: the first entry is the oldest connection still reading.
  const reading = new Set<Conn>();
  const writing = new Set<Conn>();
  let accepted = 0;
  let closing = false;
  const limitLog = throttledLog(opts.log, "warn", "too many open connections: the oldest idle one evicted, or the new one refused", opts.logIntervalMs);
  const badFrameLog = throttledLog(opts.log, "warn", "dropped connections without a valid request frame", opts.logIntervalMs);
  const slowLog = throttledLog(opts.log, "warn", "cut clients that did not read their responses", opts.logIntervalMs);

  const drop = (conn: Conn, reason: DropReason) => {
    conn.dropped = true;
    reading.delete(conn);
    writing.delete(conn);
    conn.socket.destroy();
    opts.onDrop?.(reason);
  };

  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    if (closing) return void socket.destroy();
    accepted++;
    const conn: Conn = { socket };
    if (open.size >= opts.maxConnections) {
      const victim = reading.values().next().value;
      if (victim === undefined) {
        limitLog.add("refused", { maxConnections: opts.maxConnections });
        opts.onDrop?.("refused-at-limit");
        return void socket.destroy();
      }
      limitLog.add("evicted", { maxConnections: opts.maxConnections });
      drop(victim, "evicted-idle");
    }
    open.add(conn);
    reading.add(conn);
    socket.once("close", () => {
      open.delete(conn);
      reading.delete(conn);
      writing.delete(conn);
    });
    socket.on("error", (err) => opts.log.debug({ err: err.message }, "client socket error"));
    void serve(conn);
  });

  async function serve(conn: Conn): Promise<void> {
    const { socket } = conn;
    let payload: Buffer;
    try {
      payload = await readFrame(socket, { maxSize: opts.maxFrameSize, timeoutMs: opts.readTimeoutMs });
    } catch (err) {
      if (conn.dropped) return;
      const reason = err instanceof FrameError ? err.reason : "socket-error";
      badFrameLog.add(reason, { err: (err as Error).message });
      drop(conn, reason);
      return;
    }
    reading.delete(conn);
    let response: WireFrame | undefined;
    try {
      response = await opts.handle(payload);
    } catch (err) {
      opts.log.error({ err: (err as Error).message }, "request handler failed; closing the connection");
    }
    if (response === undefined || socket.destroyed) return void socket.destroy();
    respond(conn, response);
  }

  function respond(conn: Conn, response: WireFrame): void {
    const writer = new ResponseWriter(conn.socket, response);
    shedFor(writer.unsent());
    conn.writer = writer;
    writing.add(conn);
    conn.socket.once("finish", () => writing.delete(conn));
    // The client closes after reading; one that never does, or reads too slowly, must not hold a slot.
    const deadline = setTimeout(() => {
      slowLog.add("write-timeout", { writeTimeoutMs: opts.writeTimeoutMs });
      drop(conn, "write-timeout");
    }, opts.writeTimeoutMs);
    conn.socket.once("close", () => clearTimeout(deadline));
    writer.start();
  }

  /** Cuts the slowest readers until `incoming` more unsent bytes fit the budget. */
  function shedFor(incoming: number): void {
    let total = incoming;
    for (const c of writing) total += c.writer!.unsent();
    while (total > opts.maxUnsentBytes && writing.size > 0) {
      const now = Date.now();
      let victim: Conn | undefined;
      let slowest = Infinity;
      for (const c of writing) {
        const rate = c.writer!.drainRate(now);
        if (rate < slowest) [victim, slowest] = [c, rate];
      }
      total -= victim!.writer!.unsent();
      slowLog.add("shed", { maxUnsentBytes: opts.maxUnsentBytes });
      drop(victim!, "shed-slow-reader");
    }
  }

  await listen(server, opts.fd === undefined ? { path: opts.path } : { fd: opts.fd });

  return {
    connections: () => open.size,
    close: async () => {
      // Unlinking the path stops new clients (they get ENOENT) while the listener still accepts what
      // is already queued in its backlog, so every client that got in is answered, none is reset.
      // The keeper's socket (fd) stays at its path: the drain answers what is queued meanwhile.
      if (opts.fd === undefined) await rm(opts.path, { force: true });
      for (let i = 0; i < BACKLOG_DRAIN_MAX_ROUNDS; i++) {
        const before = accepted;
        await sleep(BACKLOG_QUIET_MS);
        if (accepted === before) break;
      }
      closing = true;
      // Clients still sending keep their read deadline; server.close resolves when all are gone.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const l of [limitLog, badFrameLog, slowLog]) l.flush();
    },
  };
}
