// The restart loop: serve our socket, register, and do both again whenever the kubelet restarts. A new
// kubelet deletes every socket in its directory and re-creates kubelet.sock, so either change is the
// signal. fs.watch on the directory reacts at once; a short stat poll is the safety net for missed events.
// A spare server waits bound in a private directory beside our socket (the kubelet's clean-up leaves
// directories alone), so that serving again after a clean-up is one rename, not a bind and its checks.
import { mkdirSync, watch, type FSWatcher } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../common/log.js";
import type { DevicePluginMetrics } from "./metrics.js";
import { PluginServer } from "./plugin-server.js";
import { registerWithKubelet } from "./registration.js";
import type { SgxResourceManager } from "./resource-manager.js";
import {
  fileIdentity,
  publishPluginSocket,
  removeDeadStagedSockets,
  sameFile,
  SocketInUseError,
  stagePluginSocket,
  type FileIdentity,
  type StagedSocket,
} from "./socket-file.js";
import { WakeableSleep } from "../common/wakeable-sleep.js";

export const KUBELET_SOCKET = "kubelet.sock";
/**
 * The first retry after a failed round. Small, because the failures that matter are momentary (kubelet.sock
 * not yet there or not yet listening while a new kubelet starts); a kubelet that stays away doubles it to
 * the cap within a dozen attempts, and a new kubelet.sock cuts any wait short.
 */
export const DEFAULT_BACKOFF_INITIAL_MS = 2;
/**
 * The first re-registration after the kubelet closed its stream without restarting (a restart is seen in
 * the directory and handled at once): a kubelet that drops plugins is not asked again within milliseconds.
 */
const STREAM_LOSS_FIRST_RETRY_MS = 100;
/** A kubelet that stays away is tried again this often. */
export const DEFAULT_BACKOFF_MAX_MS = 5000;
/** One kubelet clean-up takes our socket once; a socket removed this often in one round is someone else's doing. */
const MAX_SERVE_ROUNDS = 3;

/** A plugin server listening on a staged socket, not yet at our path. */
interface StagedServer {
  server: PluginServer;
  socket: StagedSocket;
}

export interface RestartLoopOptions {
  socketDir: string;
  socketName: string;
  rm: SgxResourceManager;
  log: Logger;
  metrics: DevicePluginMetrics;
  registerDeadlineMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  pollMs?: number;
  /** Called after each successful registration with the count so far (2 and up: the kubelet restarted). */
  onRegistered?: (registrations: number) => void;
  /** Watch the directory with fs.watch (default); off leaves the stat poll alone, as on filesystems without inotify. */
  fsWatch?: boolean;
}

export class RestartLoop {
  private readonly socketPath: string;
  private readonly kubeletSocket: string;
  /** The server at our socket path (null before the first serve and after stop). */
  private live: PluginServer | null = null;
  /** The next server, staged ahead (null when none is being made). */
  private spare: Promise<StagedServer | null> | null = null;
  /** Servers replaced by a new one, still shutting down. */
  private readonly retiring = new Set<Promise<void>>();
  private served: FileIdentity | null = null;
  /** kubelet.sock as it was when Register last succeeded; null while not registered. */
  private registeredWith: FileIdentity | null = null;
  /** kubelet.sock as it was at the latest Register attempt. */
  private lastAttempted: FileIdentity | null = null;
  private registrations = 0;
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private backoffMs: number;
  private readonly streamLossInitial: number;
  private streamLossDelayMs: number;
  private stopped = false;
  private readonly pause = new WakeableSleep();
  private dirty = true;
  /** Set by every event that may change what a reconcile finds; a failed reconcile after one retries at once. */
  private kicked = false;
  private lastLoggedError = "";
  private watcher: FSWatcher | null = null;
  private poller: NodeJS.Timeout | null = null;
  private done: Promise<void> = Promise.resolve();

  constructor(private readonly o: RestartLoopOptions) {
    this.socketPath = path.join(o.socketDir, o.socketName);
    this.kubeletSocket = path.join(o.socketDir, KUBELET_SOCKET);
    this.initialBackoff = o.backoffInitialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
    this.maxBackoff = o.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.backoffMs = this.initialBackoff;
    this.streamLossInitial = Math.max(this.initialBackoff, STREAM_LOSS_FIRST_RETRY_MS);
    this.streamLossDelayMs = this.streamLossInitial;
  }

  get registered(): boolean {
    return this.registeredWith !== null;
  }

  get registrationCount(): number {
    return this.registrations;
  }

  get socket(): string {
    return this.socketPath;
  }

  /**
   * Serves the socket (throwing if another server holds it), then keeps registering in the background. A
   * kubelet starting meanwhile may take the socket as soon as it is served; the loop serves it again.
   */
  async start(): Promise<void> {
    mkdirSync(this.o.socketDir, { recursive: true, mode: 0o750 });
    const leftovers = await removeDeadStagedSockets(this.o.socketDir);
    if (leftovers > 0) this.o.log.info({ socketDir: this.o.socketDir, removed: leftovers }, "removed spare plugin sockets a previous run left behind");
    await this.serve();
    if (this.o.fsWatch ?? true) this.watchDirectory();
    this.poller = setInterval(() => this.check(), this.o.pollMs ?? 200);
    this.done = this.run();
  }

  private watchDirectory(): void {
    try {
      this.watcher = watch(this.o.socketDir, (_event, name) => {
        if (name !== null && name !== KUBELET_SOCKET && name !== this.o.socketName) return;
        // Recorded apart from the check: a reconcile in flight that then fails (no kubelet.sock when it
        // looked) must not sleep through this event.
        if (name !== this.o.socketName) this.kicked = true;
        this.check();
      });
      this.watcher.on("error", (err) => this.o.log.warn({ err: err.message }, "watching the socket directory failed; polling only"));
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, "cannot watch the socket directory; polling only");
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    if (this.poller) clearInterval(this.poller);
    this.pause.wake();
    await this.done;
    const spare = await this.spare;
    this.spare = null;
    await Promise.all([this.live?.stop(), spare && this.discard(spare), ...this.retiring]);
    this.live = null;
    // Closing normally unlinks the socket; make sure, but never remove a file someone else made since.
    if (this.served && sameFile(fileIdentity(this.socketPath), this.served)) await rm(this.socketPath, { force: true });
    this.served = null;
    this.setRegistered(null);
  }

  /** Compares both socket files with what we served and registered against; any change means redo. */
  private check(): void {
    if (this.stopped) return;
    const ours = fileIdentity(this.socketPath);
    const kubelet = fileIdentity(this.kubeletSocket);
    if (!kubelet) this.lastAttempted = null; // seen gone: whatever kubelet.sock appears next is new
    let redo = false;
    if (this.served && !sameFile(ours, this.served)) {
      this.o.log.info({ socket: this.socketPath }, "our socket was removed (kubelet restart?); serving it again");
      this.served = null;
      redo = true;
    }
    if (this.registeredWith && !sameFile(kubelet, this.registeredWith)) {
      this.o.log.info({ kubeletSocket: this.kubeletSocket }, "kubelet.sock changed; registering again");
      this.setRegistered(null);
      redo = true;
    }
    if (!this.registeredWith && kubelet && !sameFile(kubelet, this.lastAttempted)) {
      // A kubelet.sock not tried yet (a new kubelet): try now, whatever the backoff had reached.
      this.backoffMs = this.initialBackoff;
      this.streamLossDelayMs = this.streamLossInitial;
      redo = true;
    }
    if (redo) this.trigger();
  }

  /** The kubelet closed its last stream: it died or dropped us. Register again, slower each time. */
  private streamsLost(): void {
    if (this.stopped || !this.registeredWith) return;
    this.o.log.warn({ retryInMs: this.streamLossDelayMs }, "the kubelet closed its ListAndWatch stream; registering again");
    this.setRegistered(null);
    // Whoever comes next (this kubelet again, or its successor) opens a stream first thing.
    setImmediate(() => this.stopped || this.o.rm.prepareSnapshot());
    const delay = this.streamLossDelayMs;
    this.streamLossDelayMs = Math.min(delay * 2, this.maxBackoff);
    setTimeout(() => this.trigger(), delay).unref();
  }

  private trigger(): void {
    this.dirty = true;
    this.kicked = true;
    this.pause.wake();
  }


  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.dirty) {
        await this.pause.sleep(60_000);
        continue;
      }
      this.dirty = false;
      this.kicked = false;
      try {
        await this.reconcile();
        this.backoffMs = this.initialBackoff;
        this.lastLoggedError = "";
      } catch (err) {
        if (this.stopped) break;
        this.failed((err as Error).message);
        this.dirty = true;
        // The directory changed while we tried (e.g. kubelet.sock appeared just after we looked): try
        // again now. Otherwise back off, doubling up to the cap, until an event wakes us.
        if (this.kicked) continue;
        await this.pause.sleep(this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoff);
      }
    }
  }

  private async reconcile(): Promise<void> {
    // Look again rather than trust the watcher: a kubelet that deleted our socket a moment ago would
    // otherwise be asked to dial a path that no longer exists. A socket the kubelet's clean-up took is
    // served again only once kubelet.sock exists: a new kubelet.sock exists only after its clean-up, so
    // serving then neither races the clean-up (which would take the fresh socket) nor slows it (both
    // write the same directory). A dead kubelet's kubelet.sock can still be followed by a new kubelet's
    // clean-up: the stats after serving see that (kubelet.sock changed, or our fresh socket gone), and
    // we look again.
    let kubelet: FileIdentity;
    for (let round = 1; ; round++) {
      if (this.served && !sameFile(fileIdentity(this.socketPath), this.served)) this.served = null;
      if (!this.served) this.setRegistered(null);
      if (this.registeredWith || this.stopped) return;
      const seen = fileIdentity(this.kubeletSocket);
      if (!seen) {
        this.lastAttempted = null;
        throw new Error(`kubelet not running: ${this.kubeletSocket} does not exist`);
      }
      kubelet = seen;
      if (!this.served) await this.serve();
      if (this.stopped) return;
      if (sameFile(fileIdentity(this.socketPath), this.served) && sameFile(fileIdentity(this.kubeletSocket), kubelet)) break;
      if (round === MAX_SERVE_ROUNDS) throw new Error(`${this.socketPath} or ${KUBELET_SOCKET} changed ${round} times while serving`);
    }
    this.lastAttempted = kubelet;
    await registerWithKubelet({
      kubeletSocket: this.kubeletSocket,
      endpoint: this.o.socketName,
      resourceName: this.o.rm.resourceName,
      deadlineMs: this.o.registerDeadlineMs ?? 2000,
    });
    if (this.stopped) return;
    this.registrations += 1;
    this.o.metrics.registrations.inc();
    if (this.registrations > 1) this.o.metrics.reregistrations.inc();
    this.setRegistered(kubelet);
    this.o.log.info(
      { resource: this.o.rm.resourceName, endpoint: this.o.socketName, devices: this.o.rm.deviceCount, registrations: this.registrations },
      "registered with the kubelet",
    );
    this.o.onRegistered?.(this.registrations);
    // The kubelet may have restarted while we registered: check at once rather than at the next poll.
    this.check();
  }

  /** Puts a server at our path (the spare if there is one), then retires the one it replaces. */
  private async serve(): Promise<void> {
    const spare = await this.spare;
    this.spare = null;
    if (spare) {
      try {
        return await this.publish(spare);
      } catch (err) {
        if (err instanceof SocketInUseError || this.stopped) throw err;
        // The spare's private directory went (the whole directory was wiped): bind afresh.
        this.o.log.debug({ err: (err as Error).message }, "the spare plugin socket could not be published; binding a new one");
      }
    }
    if (this.stopped) return;
    await this.publish(await this.stage());
  }

  private async publish(next: StagedServer): Promise<void> {
    try {
      // null: a kubelet's clean-up took it at once; the next reconcile serves again.
      this.served = await publishPluginSocket(this.socketPath, next.socket);
    } catch (err) {
      await this.discard(next);
      throw err;
    }
    const old = this.live;
    this.live = next.server;
    if (old) {
      const stopping = old.stop().finally(() => this.retiring.delete(stopping));
      this.retiring.add(stopping);
    }
  }

  /** Stages the next server unless one is ready or on its way. */
  private ensureSpare(): void {
    if (this.spare || this.stopped) return;
    this.spare = this.stage().catch((err: Error) => {
      this.o.log.debug({ err: err.message }, "could not stage a spare plugin socket; the next serve binds one");
      return null;
    });
  }

  private async stage(): Promise<StagedServer> {
    const server = new PluginServer(this.o.rm, this.socketPath, this.o.log, this.o.metrics, {
      streamsLost: () => this.streamsLost(),
      // The kubelet has its snapshot: the next server can be made now without delaying this registration.
      streamOpened: () => this.ensureSpare(),
    });
    try {
      return { server, socket: await stagePluginSocket(this.socketPath, (bindPath) => server.start(bindPath)) };
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  private async discard(s: StagedServer): Promise<void> {
    await s.server.stop();
    await s.socket.discard();
  }

  private failed(message: string): void {
    this.o.metrics.registrationErrors.inc();
    this.o.metrics.recordError(message);
    // The same error every few seconds while the kubelet is away is one line, then debug.
    if (message !== this.lastLoggedError) this.o.log.warn({ err: message, retryInMs: this.backoffMs }, "registration failed; will retry");
    else this.o.log.debug({ err: message, retryInMs: this.backoffMs }, "registration failed again");
    this.lastLoggedError = message;
  }

  private setRegistered(kubelet: FileIdentity | null): void {
    this.registeredWith = kubelet;
    this.o.metrics.setRegistered(this.o.rm.resourceName, kubelet !== null);
  }
}
