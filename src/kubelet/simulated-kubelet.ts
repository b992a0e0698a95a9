// A kubelet device-manager peer: serves v1beta1.Registration on <socketDir>/kubelet.sock and drives device
// plugins the way the real kubelet does (pkg/kubelet/cm/devicemanager): synchronous dial + options on
// Register, full-snapshot ListAndWatch with the 4 MiB receive limit, devices unhealthy on disconnect, and
// directory cleanup on start, and the checkpoint (kubelet_internal_checkpoint) that keeps allocated devices
// allocated across its restarts. Used by tests, benches and `confcom demo`; no timing of its own beyond the dial.
import { EventEmitter } from "node:events";
import { promises as fs } from "node:fs";
import path from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcService, unixTarget } from "../common/grpc-service.js";
import { silentLogger, type Logger } from "../common/log.js";
import {
  AllocateRequestSchema,
  ContainerAllocateResponseSchema,
  EmptySchema,
  PreStartContainerRequestSchema,
  PreferredAllocationRequestSchema,
  Registration,
  type ContainerAllocateResponse,
  type Device,
  type DevicePluginOptions,
  type ListAndWatchResponse,
  type RegisterRequest,
} from "../gen/deviceplugin/v1beta1/api_pb.js";
import { CheckpointStore, readCheckpoint, type PodDevicesEntry } from "./checkpoint.js";
import { DevicePluginClient, KUBELET_DIAL_TIMEOUT_MS } from "./plugin-client.js";
import { cleanupPluginDirectory, ensurePluginDirectory } from "./plugin-dir.js";
import { extendedResourceNameProblem } from "./resource-name.js";

export const KUBELET_SOCKET_NAME = "kubelet.sock";
export const SUPPORTED_VERSIONS = ["v1beta1"] as const;
/** How long a disconnected plugin's devices still count in capacity (kubelet `endpointStopGracePeriod`). */
export const ENDPOINT_STOP_GRACE_PERIOD_MS = 5 * 60_000;
const HEALTHY = "Healthy";

export interface SimulatedKubeletOptions {
  /** The device-plugin directory (the kubelet's /var/lib/kubelet/device-plugins/). */
  socketDir: string;
  /** How long Register may take to reach the plugin's socket; the kubelet uses 10 s. */
  dialTimeoutMs?: number;
  /** After a plugin disconnects, its devices leave capacity once this has passed; default 5 min. */
  endpointStopGracePeriodMs?: number;
  /** Milliseconds clock for the grace period (tests inject one); default Date.now. */
  now?: () => number;
  log?: Logger;
  /**
   * Dial plugins as kubelets before 1.26 did: grpc-go took the socket path as the target, so every
   * request carried it as HTTP/2 :authority (fixed by kubernetes/kubernetes#112597).
   */
  legacyAuthority?: boolean;
}

export interface StopOptions {
  /** Leave kubelet.sock behind with nobody listening (as a dead kubelet does) instead of removing it. */
  leaveSocket?: boolean;
}

/** What the kubelet knows about one resource, as a plain object (for assertions and log lines). */
export interface ResourceSummary {
  registrations: number;
  connected: boolean;
  capacity: number;
  allocatable: number;
  lastError: string | null;
}

interface Endpoint {
  readonly name: string;
  readonly client: DevicePluginClient;
  readonly options: DevicePluginOptions;
  stream: grpc.ClientReadableStream<ListAndWatchResponse> | null;
  stopped: boolean;
  /** When the stream ended (not set when replaced or when the kubelet itself stopped). */
  disconnectedAt: number | null;
}

interface ResourceState {
  endpoint: Endpoint | null;
  healthy: Set<string>;
  unhealthy: Set<string>;
  devices: readonly Device[];
  registrations: number;
  lastError: string | null;
}

/** One container of a pod to admit: its extended-resource limits (requests = limits). */
export interface ContainerSpec {
  name: string;
  resources: Record<string, number>;
}

export interface AdmittedContainer {
  name: string;
  /** Device IDs per resource. */
  deviceIds: Record<string, string[]>;
  /** The responses of every resource merged as the kubelet does: devices, mounts by container path; envs, annotations by key. */
  response: ContainerAllocateResponse;
}

/** Echoed plugin input (resource names, endpoints) is cut to this many characters in errors and logs. */
const SHOWN_INPUT_CHARS = 80;
const show = (s: string) => JSON.stringify(s.length > SHOWN_INPUT_CHARS ? `${s.slice(0, SHOWN_INPUT_CHARS)}…` : s);
/** Register requests are small: a version, a file name, a resource name and two booleans. */
const MAX_REGISTER_BYTES = 16 * 1024;

/**
 * Events: `change` () after any state change; `registered` (resource, count); `snapshot` (resource);
 * `disconnected` (resource, reason).
 */
export class SimulatedKubelet extends EventEmitter {
  readonly socketDir: string;
  readonly socketPath: string;
  private readonly dialTimeoutMs: number;
  private readonly gracePeriodMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly legacyAuthority: boolean;
  private server: grpc.Server | null = null;
  /** Bumped on every stop, so a Register still dialing when the kubelet dies cannot install an endpoint. */
  private generation = 0;
  private readonly resources = new Map<string, ResourceState>();
  /** The checkpointed allocations, by pod UID, container and resource. */
  private readonly podDevices = new Map<string, PodDevicesEntry>();
  private readonly checkpoint: CheckpointStore;
  private anonymousPods = 0;
  private admissions: Promise<unknown> = Promise.resolve();

  constructor(opts: SimulatedKubeletOptions) {
    super();
    this.socketDir = path.resolve(opts.socketDir);
    this.socketPath = path.join(this.socketDir, KUBELET_SOCKET_NAME);
    this.dialTimeoutMs = opts.dialTimeoutMs ?? KUBELET_DIAL_TIMEOUT_MS;
    this.gracePeriodMs = opts.endpointStopGracePeriodMs ?? ENDPOINT_STOP_GRACE_PERIOD_MS;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? silentLogger();
    this.legacyAuthority = opts.legacyAuthority ?? false;
    this.checkpoint = new CheckpointStore(this.socketDir, () => ({
      entries: [...this.podDevices.values()],
      registered: Object.fromEntries([...this.resources].map(([name, st]) => [name, [...st.healthy]])),
    }));
  }

  get running(): boolean {
    return this.server !== null;
  }

  /** Cleans the directory of sockets (which tells plugins to re-register), then serves kubelet.sock. */
  async start(): Promise<void> {
    if (this.server) throw new Error("simulated kubelet already running");
    await ensurePluginDirectory(this.socketDir);
    // A new kubelet knows only what its checkpoint says: the allocations, and which resources were
    // registered, each with an empty device set until its plugin registers again. A checkpoint that
    // cannot be read is logged and ignored, as the kubelet does ("device allocation info may NOT be up-to-date").
    this.podDevices.clear();
    const saved = await readCheckpoint(this.socketDir).catch((err: Error) => {
      this.log.warn({ err: err.message }, "continuing after failing to read the checkpoint file");
      return null;
    });
    for (const e of saved?.entries ?? []) this.podDevices.set(entryKey(e.podUID, e.containerName, e.resourceName), e);
    for (const name of Object.keys(saved?.registered ?? {})) this.state(name);
    const removed = await cleanupPluginDirectory(this.socketDir);
    for (const state of this.resources.values()) {
      state.endpoint = null;
      state.healthy = new Set();
      state.unhealthy = new Set();
      state.devices = [];
      state.lastError = null;
    }
    const server = new grpc.Server({ "grpc.max_receive_message_length": MAX_REGISTER_BYTES });
    server.addService(grpcService(Registration), {
      register: (call: grpc.ServerUnaryCall<RegisterRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        this.register(call.request).then(
          () => callback(null, create(EmptySchema)),
          (err: Error) => callback({ code: grpc.status.UNKNOWN, details: err.message }),
        );
      },
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(unixTarget(this.socketPath), grpc.ServerCredentials.createInsecure(), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    this.server = server;
    this.log.info({ socket: this.socketPath, removedSockets: removed }, "kubelet device manager serving");
    this.changed();
  }

  /** Graceful shutdown: plugin connections closed, server closed, socket removed unless `leaveSocket`. */
  async stop(opts: StopOptions = {}): Promise<void> {
    const server = this.detach();
    if (!server) return;
    await this.withSocketKept(opts.leaveSocket ?? false, async () => {
      const graceful = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)));
      await Promise.race([graceful, deadline]);
      clearTimeout(timer);
      server.forceShutdown();
    });
    await this.checkpoint.flush();
    this.log.info({ socket: this.socketPath, leftSocket: opts.leaveSocket ?? false }, "kubelet device manager stopped");
    this.changed();
  }

  /** Crash: the server is gone at once and a stale kubelet.sock nobody listens on stays behind. */
  async kill(): Promise<void> {
    const server = this.detach();
    if (!server) return;
    await this.withSocketKept(true, async () => server.forceShutdown());
    await this.checkpoint.flush();
    this.log.info({ socket: this.socketPath }, "kubelet device manager killed");
    this.changed();
  }

  /** Stop then start: the start deletes every socket in the directory, the plugins' signal to re-register. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  // ---- observability ----

  resourceNames(): string[] {
    return [...this.resources.keys()].sort();
  }

  /**
   * healthy + unhealthy devices; 0 once a disconnected plugin's grace period has passed (evaluated when asked,
   * as the kubelet's GetCapacity does, so no change event marks that moment).
   */
  capacity(resource: string): number {
    const s = this.resources.get(resource);
    if (!s || this.graceExpired(s)) return 0;
    return s.healthy.size + s.unhealthy.size;
  }

  allocatable(resource: string): number {
    return this.resources.get(resource)?.healthy.size ?? 0;
  }

  /** The devices of the latest ListAndWatch snapshot. */
  devices(resource: string): readonly Device[] {
    return this.resources.get(resource)?.devices ?? [];
  }

  healthyDeviceIds(resource: string): string[] {
    return [...(this.resources.get(resource)?.healthy ?? [])].sort();
  }

  /** Successful registrations of `resource` since this object was made (kept across restarts). */
  registrationCount(resource: string): number {
    return this.resources.get(resource)?.registrations ?? 0;
  }

  /** True while the plugin's ListAndWatch stream is up. */
  connected(resource: string): boolean {
    const ep = this.resources.get(resource)?.endpoint;
    return ep != null && !ep.stopped;
  }

  /** The options the plugin returned from GetDevicePluginOptions at its latest registration. */
  pluginOptions(resource: string): DevicePluginOptions | null {
    return this.resources.get(resource)?.endpoint?.options ?? null;
  }

  /** Why the latest stream of `resource` ended, e.g. the 4 MiB receive-limit error. */
  lastError(resource: string): string | null {
    return this.resources.get(resource)?.lastError ?? null;
  }

  summary(): Record<string, ResourceSummary> {
    const out: Record<string, ResourceSummary> = {};
    for (const [name, s] of this.resources) {
      out[name] = {
        registrations: s.registrations,
        connected: this.connected(name),
        capacity: this.capacity(name),
        allocatable: this.allocatable(name),
        lastError: s.lastError,
      };
    }
    return out;
  }

  /** Resolves once `predicate(this)` holds (checked now and after every change); rejects after `timeoutMs`. */
  waitFor(predicate: (k: SimulatedKubelet) => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    if (predicate(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onChange = (): void => {
        let ok: boolean;
        try {
          ok = predicate(this);
        } catch (err) {
          done();
          reject(err as Error);
          return;
        }
        if (ok) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; kubelet state ${JSON.stringify(this.summary())}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.off("change", onChange);
      };
      this.on("change", onChange);
    });
  }

  /** Resolves with the registration count once `resource` has registered more than `after` times (default 0). */
  async waitForRegistration(resource: string, opts: { after?: number; timeoutMs?: number } = {}): Promise<number> {
    const after = opts.after ?? 0;
    await this.waitFor((k) => k.registrationCount(resource) > after, opts.timeoutMs, `registration #${after + 1} of ${resource}`);
    return this.registrationCount(resource);
  }

  // ---- calls the kubelet makes ----

  /** Allocate with ONE ContainerAllocateRequest; returns the first (the kubelet's only used) container response. */
  async allocate(resource: string, deviceIds: readonly string[]): Promise<ContainerAllocateResponse> {
    const ep = this.liveEndpoint(resource);
    const res = await ep.client.allocate(create(AllocateRequestSchema, { containerRequests: [{ devicesIds: [...deviceIds] }] }));
    const first = res.containerResponses[0];
    if (!first) throw new Error(`${resource}: no containers return in allocation response`);
    return first;
  }

  /** GetPreferredAllocation for one container; only when the plugin advertised it. */
  async preferredAllocation(
    resource: string,
    available: readonly string[],
    mustInclude: readonly string[],
    size: number,
  ): Promise<string[]> {
    const ep = this.liveEndpoint(resource);
    if (!ep.options.getPreferredAllocationAvailable) {
      throw new Error(`${resource}: plugin does not advertise GetPreferredAllocation`);
    }
    const res = await ep.client.getPreferredAllocation(
      create(PreferredAllocationRequestSchema, {
        containerRequests: [
          { availableDeviceIDs: [...available], mustIncludeDeviceIDs: [...mustInclude], allocationSize: size },
        ],
      }),
    );
    const first = res.containerResponses[0];
    if (!first) throw new Error(`${resource}: no container responses in preferred allocation response`);
    return first.deviceIDs;
  }

  /** PreStartContainer (30 s deadline, as the kubelet); only when the plugin requires it. */
  async preStartContainer(resource: string, deviceIds: readonly string[]): Promise<void> {
    const ep = this.liveEndpoint(resource);
    if (!ep.options.preStartRequired) throw new Error(`${resource}: plugin does not require PreStartContainer`);
    await ep.client.preStartContainer(create(PreStartContainerRequestSchema, { devicesIds: [...deviceIds] }));
  }

  /** Device IDs of `resource` held by admitted containers (as checkpointed). */
  allocatedDeviceIds(resource: string): string[] {
    const out: string[] = [];
    for (const e of this.podDevices.values()) if (e.resourceName === resource) out.push(...e.deviceIds);
    return out.sort();
  }

  /**
   * Admits a container asking for `count` devices as the kubelet does: picks from healthy, unallocated devices
   * (the plugin's preferred allocation first when offered, the rest in sorted order), calls Allocate, then
   * PreStartContainer when required, and checkpoints the allocation. A container already admitted (the same
   * pod UID and container name: a container restart) gets its checkpointed response again, without Allocate.
   * The devices stay allocated until `release` or `removePod`, also across kubelet restarts.
   */
  async admitContainer(
    resource: string,
    count: number,
    opts: { podUID?: string; containerName?: string } = {},
  ): Promise<{ deviceIds: string[]; response: ContainerAllocateResponse; replayed: boolean }> {
    // One admission at a time, as the kubelet's device manager allocates under its mutex.
    const turn = this.admissions.then(() => this.admitOne(resource, count, opts));
    this.admissions = turn.catch(() => {});
    return turn;
  }

  private async admitOne(
    resource: string,
    count: number,
    opts: { podUID?: string; containerName?: string },
  ): Promise<{ deviceIds: string[]; response: ContainerAllocateResponse; replayed: boolean }> {
    const podUID = opts.podUID ?? `anonymous-pod-${++this.anonymousPods}`;
    const containerName = opts.containerName ?? "main";
    const key = entryKey(podUID, containerName, resource);
    const held = this.podDevices.get(key);
    if (held) return { deviceIds: [...held.deviceIds], response: fromBinary(ContainerAllocateResponseSchema, held.allocResp), replayed: true };
    const ep = this.liveEndpoint(resource);
    const state = this.state(resource);
    const allocated = new Set(this.allocatedDeviceIds(resource));
    const available = [...state.healthy].filter((id) => !allocated.has(id)).sort();
    if (available.length < count) {
      throw new Error(`requested number of devices unavailable for ${resource}. Requested: ${count}, Available: ${available.length}`);
    }
    const chosen = new Set<string>();
    if (ep.options.getPreferredAllocationAvailable) {
      const preferred = await this.preferredAllocation(resource, available, [], count);
      const free = new Set(available);
      for (const id of preferred) if (chosen.size < count && free.has(id)) chosen.add(id);
    }
    for (const id of available) if (chosen.size < count) chosen.add(id);
    const deviceIds = [...chosen];
    const entry: PodDevicesEntry = { podUID, containerName, resourceName: resource, deviceIds, allocResp: Buffer.alloc(0) };
    this.podDevices.set(key, entry);
    try {
      const response = await this.allocate(resource, deviceIds);
      if (ep.options.preStartRequired) await this.preStartContainer(resource, deviceIds);
      entry.allocResp = Buffer.from(toBinary(ContainerAllocateResponseSchema, response));
      await this.checkpoint.save();
      return { deviceIds, response, replayed: false };
    } catch (err) {
      this.podDevices.delete(key);
      throw err;
    }
  }

  /**
   * Admits every container of a pod, each with its devices of every resource it asks for, and merges each
   * container's responses as the kubelet does before creating the container.
   */
  async admitPod(podUID: string, containers: readonly ContainerSpec[]): Promise<AdmittedContainer[]> {
    const out: AdmittedContainer[] = [];
    try {
      for (const c of containers) {
        const deviceIds: Record<string, string[]> = {};
        const responses: ContainerAllocateResponse[] = [];
        for (const [resource, count] of Object.entries(c.resources)) {
          const r = await this.admitContainer(resource, count, { podUID, containerName: c.name });
          deviceIds[resource] = r.deviceIds;
          responses.push(r.response);
        }
        out.push({ name: c.name, deviceIds, response: mergeResponses(responses) });
      }
    } catch (err) {
      this.removePod(podUID);
      throw err;
    }
    return out;
  }

  /** Frees devices taken by `admitContainer`. */
  release(resource: string, deviceIds: readonly string[]): void {
    const gone = new Set(deviceIds);
    for (const [key, e] of this.podDevices) {
      if (e.resourceName !== resource) continue;
      e.deviceIds = e.deviceIds.filter((id) => !gone.has(id));
      if (e.deviceIds.length === 0) this.podDevices.delete(key);
    }
    void this.checkpoint.save().catch((err: Error) => this.log.warn({ err: err.message }, "writing the checkpoint failed"));
  }

  /** The pod is gone: every device its containers held is free again. */
  removePod(podUID: string): void {
    for (const [key, e] of this.podDevices) if (e.podUID === podUID) this.podDevices.delete(key);
    void this.checkpoint.save().catch((err: Error) => this.log.warn({ err: err.message }, "writing the checkpoint failed"));
  }

  // ---- internals ----

  private async register(req: RegisterRequest): Promise<void> {
    const log = this.log.child({ resource: req.resourceName.slice(0, SHOWN_INPUT_CHARS), endpoint: req.endpoint.slice(0, SHOWN_INPUT_CHARS) });
    try {
      if (!(SUPPORTED_VERSIONS as readonly string[]).includes(req.version)) {
        throw new Error(
          `requested API version ${show(req.version)} is not supported by kubelet. Supported versions are ${JSON.stringify(SUPPORTED_VERSIONS)}`,
        );
      }
      const problem = extendedResourceNameProblem(req.resourceName);
      if (problem) throw new Error(`the ResourceName ${show(req.resourceName)} is invalid: ${req.resourceName.length <= 320 ? problem : `${req.resourceName.length} characters long`}`);
      if (req.endpoint !== path.basename(req.endpoint) || req.endpoint === "" || req.endpoint === "..") {
        throw new Error(`the endpoint ${show(req.endpoint)} is not a file name in ${this.socketDir}`);
      }
      const generation = this.generation;
      const endpoint = await this.connect(req.endpoint);
      if (generation !== this.generation) {
        endpoint.client.close();
        throw new Error("kubelet device manager stopped during registration");
      }
      const state = this.state(req.resourceName);
      if (state.endpoint) this.stopEndpoint(state.endpoint);
      state.endpoint = endpoint;
      state.lastError = null;
      state.registrations += 1;
      log.info({ options: { preStartRequired: endpoint.options.preStartRequired, getPreferredAllocationAvailable: endpoint.options.getPreferredAllocationAvailable } }, "device plugin registered");
      this.emit("registered", req.resourceName, state.registrations);
      this.changed();
      this.listAndWatch(req.resourceName, endpoint);
    } catch (err) {
      log.warn({ err: (err as Error).message }, "device plugin registration refused");
      throw err;
    }
  }

  private async connect(endpointName: string): Promise<Endpoint> {
    const client = new DevicePluginClient(path.join(this.socketDir, endpointName), { legacyAuthority: this.legacyAuthority });
    try {
      await client.connect(this.dialTimeoutMs);
      const options = await client.getDevicePluginOptions();
      return { name: endpointName, client, options, stream: null, stopped: false, disconnectedAt: null };
    } catch (err) {
      client.close();
      throw new Error(`failed to dial device plugin: ${(err as Error).message}`);
    }
  }

  private listAndWatch(resource: string, ep: Endpoint): void {
    const stream = ep.client.listAndWatch();
    ep.stream = stream;
    stream.on("data", (res: ListAndWatchResponse) => {
      if (ep.stopped) return;
      const state = this.state(resource);
      state.healthy = new Set();
      state.unhealthy = new Set();
      for (const dev of res.devices) (dev.health === HEALTHY ? state.healthy : state.unhealthy).add(dev.ID);
      state.devices = res.devices;
      // As genericDeviceUpdateCallback: the device sets are visible (GetCapacity) before the checkpoint is written.
      this.emit("snapshot", resource);
      this.changed();
      void this.checkpoint.save().catch((err: Error) => this.log.warn({ err: err.message }, "writing the checkpoint failed"));
    });
    stream.on("error", (err: grpc.ServiceError) => this.disconnected(resource, ep, err.details || err.message));
    stream.on("end", () => this.disconnected(resource, ep, "ListAndWatch stream ended"));
  }

  /** `PluginDisconnected`: the endpoint is stopped and every device of the resource counts as unhealthy. */
  private disconnected(resource: string, ep: Endpoint, reason: string): void {
    if (ep.stopped) return;
    this.stopEndpoint(ep);
    const state = this.state(resource);
    if (state.endpoint !== ep) return;
    ep.disconnectedAt = this.now();
    for (const id of state.healthy) state.unhealthy.add(id);
    state.healthy = new Set();
    state.lastError = reason;
    this.log.warn({ resource, reason }, "device plugin disconnected; devices marked unhealthy");
    this.emit("disconnected", resource, reason);
    this.changed();
  }

  private stopEndpoint(ep: Endpoint): void {
    ep.stopped = true;
    ep.stream?.cancel();
    ep.client.close();
  }

  private graceExpired(s: ResourceState): boolean {
    const at = s.endpoint?.disconnectedAt;
    return at != null && this.now() - at > this.gracePeriodMs;
  }

  private liveEndpoint(resource: string): Endpoint {
    const ep = this.resources.get(resource)?.endpoint;
    if (!ep) throw new Error(`unknown resource ${resource}: no device plugin registered`);
    if (ep.stopped) throw new Error(`endpoint ${ep.name} for ${resource} has been stopped`);
    return ep;
  }

  private state(resource: string): ResourceState {
    let s = this.resources.get(resource);
    if (!s) {
      s = { endpoint: null, healthy: new Set(), unhealthy: new Set(), devices: [], registrations: 0, lastError: null };
      this.resources.set(resource, s);
    }
    return s;
  }

  /** Marks the kubelet gone: no server, plugin connections dropped. Returns the server to shut down. */
  private detach(): grpc.Server | null {
    const server = this.server;
    if (!server) return null;
    this.server = null;
    this.generation += 1;
    for (const s of this.resources.values()) if (s.endpoint && !s.endpoint.stopped) this.stopEndpoint(s.endpoint);
    return server;
  }

  /**
   * Runs `shutdown`, keeping the socket file when asked. Closing a listening unix socket unlinks its path
   * (libuv), so a hard link taken before the close is renamed back: the same dead inode, nobody listening.
   */
  private async withSocketKept(keep: boolean, shutdown: () => Promise<void>): Promise<void> {
    const keeper = `${this.socketPath}.stale-${process.pid}`;
    if (keep) await fs.link(this.socketPath, keeper);
    await shutdown();
    if (keep) await fs.rename(keeper, this.socketPath);
  }

  private changed(): void {
    this.emit("change");
  }
}

function entryKey(podUID: string, containerName: string, resource: string): string {
  return `${podUID}\u0000${containerName}\u0000${resource}`;
}

/** The kubelet's merge of one container's responses (pod_devices.go): later duplicates of a path or key are dropped. */
function mergeResponses(responses: readonly ContainerAllocateResponse[]): ContainerAllocateResponse {
  const merged = create(ContainerAllocateResponseSchema);
  for (const r of responses) {
    for (const d of r.devices) if (!merged.devices.some((x) => x.containerPath === d.containerPath)) merged.devices.push(d);
    for (const m of r.mounts) if (!merged.mounts.some((x) => x.containerPath === m.containerPath)) merged.mounts.push(m);
    for (const [k, v] of Object.entries(r.envs)) merged.envs[k] ??= v;
    for (const [k, v] of Object.entries(r.annotations)) merged.annotations[k] ??= v;
    merged.cdiDevices.push(...r.cdiDevices);
  }
  return merged;
}
