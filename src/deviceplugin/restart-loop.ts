// The restart loop: serve our socket, register, and do both again whenever the kubelet restarts. A new
// kubelet deletes every socket in its directory and re-creates kubelet.sock, so either change is the
// signal. fs.watch on the directory reacts at once; a short stat poll is the safety net for missed events.
import { mkdirSync, watch, type FSWatcher } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "../common/log.js";
import type { DevicePluginMetrics } from "./metrics.js";
import { PluginServer } from "./plugin-server.js";
import { registerWithKubelet } from "./registration.js";
import type { SgxResourceManager } from "./resource-manager.js";
import { fileIdentity, sameFile, servePluginSocket, type FileIdentity } from "./socket-file.js";
import { WakeableSleep } from "../common/wakeable-sleep.js";

export const KUBELET_SOCKET = "kubelet.sock";
/**
 * The first retry after a failed round. Small, because the failures that matter are momentary (kubelet.sock
 * not yet there or not yet listening while a new kubelet starts); a kubelet that stays away doubles it to
 * the cap within a dozen attempts, and a new kubelet.sock cuts any wait short.
 */
export const DEFAULT_BACKOFF_INITIAL_MS = 2;
/** A kubelet that stays away is tried again this often. */
export const DEFAULT_BACKOFF_MAX_MS = 5000;
/** One kubelet clean-up takes our socket once; a socket removed this often in one round is someone else's doing. */
const MAX_SERVE_ROUNDS = 3;

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
  private readonly server: PluginServer;
  private served: FileIdentity | null = null;
  /** kubelet.sock as it was when Register last succeeded; null while not registered. */
  private registeredWith: FileIdentity | null = null;
  /** kubelet.sock as it was at the latest Register attempt. */
  private lastAttempted: FileIdentity | null = null;
  private registrations = 0;
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private backoffMs: number;
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
    this.server = new PluginServer(o.rm, this.socketPath, o.log, o.metrics, () => this.streamsLost());
    this.initialBackoff = o.backoffInitialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
    this.maxBackoff = o.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
    this.backoffMs = this.initialBackoff;
    this.streamLossDelayMs = this.initialBackoff;
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

  /** Serves the socket (throwing if another server holds it), then keeps registering in the background. */
  async start(): Promise<void> {
    mkdirSync(this.o.socketDir, { recursive: true, mode: 0o750 });
    await this.serve();
    if (this.o.fsWatch ?? true) this.watchDirectory();
    this.poller = setInterval(() => void this.check(), this.o.pollMs ?? 200);
    this.done = this.run();
  }

  private watchDirectory(): void {
    try {
      this.watcher = watch(this.o.socketDir, (_event, name) => {
        if (name !== null && name !== KUBELET_SOCKET && name !== this.o.socketName) return;
        // Recorded before the check: a check that overlaps a reconcile gives up on its stale stats, and
        // the reconcile then failing (no kubelet.sock when it looked) must not sleep through this event.
        if (name !== this.o.socketName) this.kicked = true;
        void this.check();
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
    await this.server.stop();
    // Closing normally unlinks the socket; make sure, but never remove a file someone else made since.
    if (this.served && sameFile(await fileIdentity(this.socketPath), this.served)) await rm(this.socketPath, { force: true });
    this.served = null;
    this.setRegistered(null);
  }

  /** Compares both socket files with what we served and registered against; any change means redo. */
  private async check(): Promise<void> {
    if (this.stopped) return;
    // Judge the stats only against the state they were taken in: a re-serve or registration that
    // finished meanwhile must not be undone by a stat that predates it.
    const served = this.served;
    const registeredWith = this.registeredWith;
    const [ours, kubelet] = await Promise.all([fileIdentity(this.socketPath), fileIdentity(this.kubeletSocket)]);
    if (this.stopped || served !== this.served || registeredWith !== this.registeredWith) return;
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
      this.streamLossDelayMs = this.initialBackoff;
      redo = true;
    }
    if (redo) this.trigger();
  }

  /** The kubelet closed its last stream: it died or dropped us. Register again, slower each time. */
  private streamsLost(): void {
    if (this.stopped || !this.registeredWith) return;
    this.o.log.warn({ retryInMs: this.streamLossDelayMs }, "the kubelet closed its ListAndWatch stream; registering again");
    this.setRegistered(null);
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
    // otherwise be asked to dial a path that no longer exists. Our socket is served first and kubelet.sock
    // looked at after, so a kubelet.sock that appeared while we re-served is seen now, not one round later.
    // A new kubelet.sock exists only after the kubelet's clean-up, so our socket's stat that follows it
    // sees that clean-up: if it took our fresh socket, serve again.
    let kubelet: FileIdentity | null = null;
    for (let round = 1; ; round++) {
      if (this.served && !sameFile(await fileIdentity(this.socketPath), this.served)) this.served = null;
      if (!this.served) {
        this.setRegistered(null);
        await this.server.stop();
        await this.serve();
      }
      if (this.registeredWith || this.stopped) return;
      kubelet = await fileIdentity(this.kubeletSocket);
      if (!kubelet || sameFile(await fileIdentity(this.socketPath), this.served)) break;
      if (round === MAX_SERVE_ROUNDS) throw new Error(`${this.socketPath} was removed ${round} times while serving it`);
    }
    if (!kubelet) {
      this.lastAttempted = null;
      throw new Error(`kubelet not running: ${this.kubeletSocket} does not exist`);
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
    void this.check();
  }

  private async serve(): Promise<void> {
    try {
      this.served = await servePluginSocket(this.socketPath, (bindPath) => this.server.start(bindPath));
    } catch (err) {
      await this.server.stop();
      throw err;
    }
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
