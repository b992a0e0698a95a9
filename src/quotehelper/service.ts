// The quote helper: an AESM-compatible service on a unix socket, serving DCAP quote-ex requests from
// a QuotingBackend. Assembles socket file, transport, dispatcher and metrics; owns their shutdown.
//
// The socket path is watched: if our socket disappears or is replaced, it is served again at once
// (a fresh socket staged and renamed into place), and /readyz says why while it cannot be. A live
// confcom helper on the path at start is taken over (handover/): ours is staged beside it, renamed over
// the path, and the old one is told to stop accepting; it answers what it accepted and exits.
import { promises as fs, watch, type FSWatcher } from "node:fs";
import path from "node:path";
import type { Logger } from "../common/log.js";
import { lstatIdentity, sameFile, SocketInUseError, stageSocket, type FileIdentity, type SocketAccess, type StagedSocket } from "../common/socket-path.js";
import type { QuotingBackend } from "../quoting/backend.js";
import type { BuildInfo } from "./build-info.js";
import { createDispatcher } from "./dispatcher.js";
import {
  CONTROL_PRODUCT,
  CONTROL_PROTOCOL,
  controlPathFor,
  decodeHandoverReply,
  helloControl,
  openControl,
  startControlServer,
  type ControlServer,
  type HandoverReply,
  type HandoverRequest,
  type HelloReply,
} from "./handover/control.js";
import { checkPredecessor, sameWire, toWire } from "./handover/takeover.js";
import { createMetrics, type QuoteHelperMetrics } from "./metrics.js";
import { createSocketMetrics, errorCode } from "./socket-metrics.js";
import { prepareSocketPath, resolveGid } from "./socket-file.js";
import { startFrameServer, type FrameServer } from "./transport.js";

export interface QuoteHelperOptions {
  socketPath: string;
  /** Permission bits of the socket file; aesmd uses 0777. */
  socketMode: number;
  socketGroup?: string;
  maxFrameSize: number;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  maxConnections: number;
  maxUnsentBytes: number;
  /**
   * Owned by the service from here on: closed by `close()`. `warm()`, if it has one, readies it to answer
   * at once (a pool starts a worker); it is awaited before a handover, whose clients must not wait.
   */
  backend: QuotingBackend & { queueDepth?(): number; workers?(): number; warm?(): Promise<void> };
  /** What is serving: /metrics, the start-up log and the handover handshake carry it. */
  build: BuildInfo;
  log: Logger;
  /** How often the socket path is checked besides fs.watch; default 250 ms. */
  watchIntervalMs?: number;
  /** Called once a successor took the socket over and everything this one accepted is answered. */
  onHandedOver?: (successor: { pid: number; version: string }) => void;
  /**
   * The socket keeper's listening socket (keeper/): served as is, never bound, renamed or removed; the
   * path is only watched, and a newer confcom socket there (a rollout's new pod) makes this one yield.
   */
  kept?: { fd: number; identity: FileIdentity };
}

export interface QuoteHelper {
  readonly socketPath: string;
  readonly metrics: QuoteHelperMetrics;
  /** The helper this one took over from at start, if any. */
  readonly predecessor?: { pid: number; version: string };
  /** For /readyz: ok while our socket is at the path and we have not handed it over. */
  readiness(): { ok: boolean; reason?: string };
  /** Stop accepting, answer requests in flight, close the backend, remove our socket files. */
  close(): Promise<void>;
}

const CONTROL_SOCKET_MODE = 0o600;

interface Served<T> {
  server: T;
  id: FileIdentity;
}

/** `start`'s server bound under a private name configured with `access`, not yet at `target`. */
async function stageServer<T extends { close(): Promise<void> }>(
  target: string,
  start: (bindPath: string) => Promise<T>,
  access: SocketAccess,
): Promise<{ staged: StagedSocket; server: T }> {
  let server: T | undefined;
  try {
    const staged = await stageSocket(target, async (p) => void (server = await start(p)), access);
    return { staged, server: server! };
  } catch (err) {
    await server?.close();
    throw err;
  }
}

/** stageServer, then renamed over `target`. */
async function serveAt<T extends { close(): Promise<void> }>(target: string, start: (bindPath: string) => Promise<T>, access: SocketAccess): Promise<Served<T>> {
  const { staged, server } = await stageServer(target, start, access);
  try {
    await staged.publish();
  } catch (err) {
    await staged.discard();
    await server.close();
    throw err;
  }
  return { server, id: staged.identity };
}

export async function startQuoteHelper(opts: QuoteHelperOptions): Promise<QuoteHelper> {
  const { backend, log, socketPath } = opts;
  const controlPath = controlPathFor(socketPath);
  const supportedKeyIds = await backend.supportedAttKeyIds();
  const frameServers = new Set<FrameServer>();
  const metrics = createMetrics({
    queueDepth: () => backend.queueDepth?.() ?? 0,
    connections: () => [...frameServers].reduce((n, s) => n + s.connections(), 0),
    ...(backend.workers && { workers: () => backend.workers!() }),
  });
  const sock = createSocketMetrics(metrics.registry, opts.build);
  const handle = createDispatcher({ backend, supportedKeyIds }, log, metrics);
  const access: SocketAccess = { mode: opts.socketMode, gid: opts.socketGroup === undefined ? undefined : resolveGid(opts.socketGroup) };
  const euid = process.geteuid!();

  let predecessor: HelloReply | undefined;
  if (!opts.kept) try {
    const state = await prepareSocketPath(socketPath);
    if (state === "symlink") log.warn({ socket: socketPath }, "a symlink is at the socket path; replacing it (never following it)");
  } catch (err) {
    if (!(err instanceof SocketInUseError && err.state === "live")) throw err;
    predecessor = await checkPredecessor(socketPath, controlPath, opts.build.version);
  }

  const startFrames = async (bindPath: string, fd?: number) => {
    const s = await startFrameServer({
      path: bindPath,
      fd,
      maxFrameSize: opts.maxFrameSize,
      readTimeoutMs: opts.readTimeoutMs,
      writeTimeoutMs: opts.writeTimeoutMs,
      maxConnections: opts.maxConnections,
      maxUnsentBytes: opts.maxUnsentBytes,
      handle,
      log,
      onDrop: (reason) => metrics.dropped.inc({ reason }),
    });
    frameServers.add(s);
    return { connections: () => s.connections(), close: () => s.close().finally(() => frameServers.delete(s)) };
  };

  let main: Served<FrameServer> | undefined;
  let control: Served<ControlServer> | undefined;
  let stopped = false;
  let yielded: Promise<void> | undefined;
  let successor: { pid: number; version: string } | undefined;
  let problem: string | undefined;

  const hello = (): HelloReply => ({
    product: CONTROL_PRODUCT,
    protocol: CONTROL_PROTOCOL,
    version: opts.build.version,
    pid: process.pid,
    backend: opts.build.backend,
    socket: toWire(main!.id),
  });

  /** A successor's handover request: the socket it names must be at the path, a socket of our user's. */
  const handover = async (req: HandoverRequest): Promise<HandoverReply> => {
    if (yielded) return { ok: true, pid: process.pid };
    const at = await lstatIdentity(socketPath);
    if (!at?.socket || at.uid !== euid || !sameWire(at, req.socket)) return { ok: false, error: "the socket named is not at the socket path" };
    if (sameFile(at, main!.id)) return { ok: false, error: "that socket is our own" };
    void yieldTo({ pid: req.pid, version: req.version.slice(0, 64) });
    return { ok: true, pid: process.pid };
  };

  const startControl = (bindPath: string) => startControlServer(bindPath, { hello, handover }, log);

  const yieldTo = (to: { pid: number; version: string }): Promise<void> =>
    (yielded ??= (async () => {
      successor = to;
      stopWatching();
      sock.socketOk.set(0);
      log.info({ successor: to.pid, successorVersion: to.version }, "handing the socket over: no longer accepting, answering what was accepted");
      await Promise.all([...frameServers].map((s) => s.close()));
      await control?.server.close();
      await backend.close();
      sock.handovers.inc({ role: "handed-over" });
      log.info({ successor: to.pid }, "handed over");
      opts.onHandedOver?.(to);
    })());

  const staging: StagedSocket[] = [];
  try {
    if (predecessor) {
      const old = predecessor;
      await backend.warm?.();
      const m = await stageServer(socketPath, startFrames, access);
      staging.push(m.staged);
      main = { server: m.server, id: m.staged.identity };
      const c = await stageServer(controlPath, startControl, { mode: CONTROL_SOCKET_MODE });
      staging.push(c.staged);
      control = { server: c.server, id: c.staged.identity };
      // Ours is bound and ready. Check that the same predecessor still serves the path, and connect to
      // its control socket while the path still leads there (after the renames it leads to ours).
      const again = await helloControl(controlPath, 1);
      if (again?.pid !== old.pid || !sameWire(await lstatIdentity(socketPath), again.socket))
        throw new Error(`the helper on ${socketPath} changed during the handover (pid ${old.pid} -> ${again?.pid ?? "none"}); start again`);
      const link = await openControl(controlPath);
      // Control first: a predecessor that sees its AESM socket replaced asks the control path who did
      // it, and must find us there.
      await c.staged.publish();
      await m.staged.publish();
      const reply = decodeHandoverReply(await link.send({ op: "handover", pid: process.pid, version: opts.build.version, socket: toWire(main.id) }));
      sock.handovers.inc({ role: "took-over" });
      if (reply.ok) log.info({ predecessor: old.pid, predecessorVersion: old.version }, "took the socket over; the predecessor stops accepting");
      else log.warn({ predecessor: old.pid, reason: reply.error }, "took the socket over, but the predecessor did not confirm; it yields once it sees the socket replaced");
    } else if (opts.kept) {
      main = { server: await startFrames(socketPath, opts.kept.fd), id: opts.kept.identity };
      control = await serveAt(controlPath, startControl, { mode: CONTROL_SOCKET_MODE });
    } else {
      main = await serveAt(socketPath, startFrames, access);
      control = await serveAt(controlPath, startControl, { mode: CONTROL_SOCKET_MODE });
    }
  } catch (err) {
    await Promise.all(staging.map((st) => st.discard()));
    await Promise.all([...frameServers].map((s) => s.close()));
    await control?.server.close();
    throw err;
  }
  sock.socketOk.set(1);

  // The watch: fs.watch reacts at once; the poll is the safety net (missed events, a re-created dir).
  let checking: Promise<void> | undefined;
  let recheck = false;
  const check = (): Promise<void> => {
    if (checking) {
      recheck = true;
      return checking;
    }
    return (checking = (async () => {
      do {
        recheck = false;
        await checkOnce().catch((err: unknown) => log.error({ err }, "socket check failed"));
      } while (recheck && !stopped && !yielded);
    })().finally(() => (checking = undefined)));
  };

  const checkOnce = async () => {
    if (stopped || yielded) return;
    const at = await lstatIdentity(socketPath);
    if (at?.socket && sameFile(at, main!.id)) {
      if (problem !== undefined) setProblem(undefined);
      return checkControl();
    }
    if (at?.socket && at.uid === euid) {
      const peer = await helloControl(controlPath, 1);
      if (peer && peer.pid !== process.pid && sameWire(at, peer.socket)) return void yieldTo({ pid: peer.pid, version: peer.version.slice(0, 64) });
    }
    if (stopped || yielded) return;
    const reason = !at ? "missing" : at.socket ? "replaced" : "not-a-socket";
    if (opts.kept) {
      // The keeper's socket is not ours to re-create; a rollout's new keeper replaced it, or it is gone.
      if (at?.socket && at.uid === euid) return void yieldTo({ pid: 0, version: "a newer socket keeper's" });
      return setProblem(`${reason}; the socket keeper's socket is no longer at the path`);
    }
    setProblem(`${reason}; serving it again`);
    try {
      const fresh = await serveAt(socketPath, startFrames, access);
      const before = main!;
      main = fresh;
      void before.server.close();
      if (stopped || yielded) return;
      sock.rebinds.inc({ reason });
      log.warn({ socket: socketPath, reason }, "the socket was missing or replaced; serving it again");
      setProblem(undefined);
    } catch (err) {
      const code = errorCode(err);
      sock.bindErrors.inc({ code });
      const msg = `${reason}, and serving it again failed (${code}); retrying`;
      if (problem !== msg) log.error({ socket: socketPath, reason, code, err: (err as Error).message.slice(0, 300) }, "cannot serve the socket again; /readyz is 503 until it can");
      setProblem(msg);
    }
  };

  // The control socket matters only for the next handover: re-serve it quietly, but never over a
  // live successor's (mid-handover it is renamed in before the AESM socket).
  const checkControl = async () => {
    const at = await lstatIdentity(controlPath);
    if (at?.socket && sameFile(at, control!.id)) return;
    if (at?.socket) {
      const peer = await helloControl(controlPath, 1);
      if (peer && peer.pid !== process.pid) return;
    }
    if (stopped || yielded) return;
    try {
      const fresh = await serveAt(controlPath, startControl, { mode: CONTROL_SOCKET_MODE });
      const before = control!;
      control = fresh;
      void before.server.close();
      log.info({ control: controlPath }, "the handover control socket was missing or replaced; serving it again");
    } catch (err) {
      log.debug({ err: (err as Error).message }, "cannot serve the control socket again; retrying");
    }
  };

  const setProblem = (p: string | undefined) => {
    problem = p;
    sock.socketOk.set(p === undefined ? 1 : 0);
  };

  let watcher: FSWatcher | undefined;
  const names = new Set([path.basename(socketPath), path.basename(controlPath)]);
  try {
    watcher = watch(path.dirname(socketPath), (_event, name) => {
      if (name === null || names.has(name)) void check();
    });
    watcher.on("error", () => undefined);
  } catch (err) {
    log.warn({ err: (err as Error).message }, "cannot watch the socket directory; polling only");
  }
  const poll = setInterval(() => void check(), opts.watchIntervalMs ?? 250);
  function stopWatching() {
    watcher?.close();
    clearInterval(poll);
  }

  log.info(
    { socket: socketPath, ...opts.build, keys: supportedKeyIds.length, ...(predecessor && { tookOverFrom: predecessor.pid }) },
    "quote helper listening",
  );
  let closing: Promise<void> | undefined;
  return {
    socketPath,
    metrics,
    predecessor: predecessor && { pid: predecessor.pid, version: predecessor.version },
    readiness: () =>
      successor
        ? { ok: false, reason: `handed the socket over to pid ${successor.pid}` }
        : problem !== undefined
          ? { ok: false, reason: `socket ${socketPath} ${problem}` }
          : { ok: true },
    close: () =>
      (closing ??= (async () => {
        stopped = true;
        stopWatching();
        await checking;
        if (yielded) return yielded;
        // Remove the public names only while they are still ours: a successor's must survive.
        if (!opts.kept && sameFile(await lstatIdentity(socketPath), main!.id)) await fs.rm(socketPath, { force: true });
        if (sameFile(await lstatIdentity(controlPath), control!.id)) await fs.rm(controlPath, { force: true });
        await Promise.all([...frameServers].map((s) => s.close()));
        await control!.server.close();
        await backend.close();
      })()),
  };
}
