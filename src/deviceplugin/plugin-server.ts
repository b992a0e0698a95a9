// The DevicePlugin gRPC service on our unix socket: the kubelet's view of the EPC resource manager.
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcService } from "../common/grpc-service.js";
import type { Logger } from "../common/log.js";
import {
  AllocateResponseSchema,
  ContainerPreferredAllocationResponseSchema,
  DevicePlugin,
  DevicePluginOptionsSchema,
  PreferredAllocationResponseSchema,
  PreStartContainerResponseSchema,
  type AllocateRequest,
  type Empty,
  type PreferredAllocationRequest,
  type PreStartContainerRequest,
} from "../gen/deviceplugin/v1beta1/api_pb.js";
import { AuthorityFront } from "./kubelet-compat/front.js";
import type { DevicePluginMetrics } from "./metrics.js";
import { ALLOCATE_SHAPE, maxRequestBytes, PREFERRED_SHAPE, shapeProblem, type RequestShape } from "./request-limits.js";
import { AllocationRejected, type SgxResourceManager } from "./resource-manager.js";

export const PLUGIN_OPTIONS = create(DevicePluginOptionsSchema, { preStartRequired: false, getPreferredAllocationAvailable: true });

/** ListAndWatch streams one resource serves at once; the kubelet holds one. Beyond, new ones are refused. */
export const MAX_LIST_AND_WATCH_STREAMS = 8;

/** A request refused before decoding (over the limits, or malformed): the handler answers INVALID_ARGUMENT. */
class RefusedRequest {
  constructor(readonly reason: string) {}
}

/** Checks the request's shape on the wire bytes, then decodes; never throws. */
function guardedDeserialize(decode: (b: Buffer) => unknown, shape: RequestShape, devices: number): (b: Buffer) => unknown {
  return (bytes) => {
    const problem = shapeProblem(bytes, shape, devices);
    if (problem) return new RefusedRequest(problem);
    try {
      return decode(bytes);
    } catch (err) {
      return new RefusedRequest(`${shape.method}: ${(err as Error).message.slice(0, 200)}`);
    }
  };
}

/**
 * The generated service definition, except that ListAndWatch also accepts a pre-encoded snapshot and
 * Allocate and GetPreferredAllocation check their request's shape before decoding it.
 */
function serviceDefinition(devices: number): grpc.ServiceDefinition {
  const def = grpcService(DevicePlugin);
  const law = def.listAndWatch!;
  const serialize = law.responseSerialize;
  const allocate = def.allocate!;
  const preferred = def.getPreferredAllocation!;
  return {
    ...def,
    listAndWatch: { ...law, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : serialize(v)) },
    allocate: { ...allocate, requestDeserialize: guardedDeserialize(allocate.requestDeserialize, ALLOCATE_SHAPE, devices) },
    getPreferredAllocation: { ...preferred, requestDeserialize: guardedDeserialize(preferred.requestDeserialize, PREFERRED_SHAPE, devices) },
  };
}

export interface PluginServerEvents {
  /** The last ListAndWatch stream closed while serving (the kubelet went away). */
  streamsLost?(): void;
  /** A ListAndWatch stream opened and has its first snapshot. */
  streamOpened?(): void;
}

export class PluginServer {
  private server: grpc.Server | null = null;
  private front: AuthorityFront | null = null;
  private readonly streams = new Set<grpc.ServerWritableStream<Empty, unknown>>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly rm: SgxResourceManager,
    private readonly socketPath: string,
    private readonly log: Logger,
    private readonly metrics: DevicePluginMetrics,
    private readonly events: PluginServerEvents = {},
  ) {}

  get streamCount(): number {
    return this.streams.size;
  }

  /** Binds the socket at `bindPath` (default: our socket path, which must be free) and serves until `stop`. */
  async start(bindPath = this.socketPath): Promise<void> {
    if (this.server) throw new Error("plugin server already running");
    const server = new grpc.Server({ "grpc.max_receive_message_length": maxRequestBytes(this.rm.deviceCount) });
    server.addService(serviceDefinition(this.rm.deviceCount), {
      getDevicePluginOptions: (_call: grpc.ServerUnaryCall<Empty, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, PLUGIN_OPTIONS),
      listAndWatch: (call: grpc.ServerWritableStream<Empty, unknown>) => this.listAndWatch(call),
      getPreferredAllocation: (call: grpc.ServerUnaryCall<PreferredAllocationRequest | RefusedRequest, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        this.preferred(call.request, cb),
      allocate: (call: grpc.ServerUnaryCall<AllocateRequest | RefusedRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => this.allocate(call.request, cb),
      preStartContainer: (_call: grpc.ServerUnaryCall<PreStartContainerRequest, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, create(PreStartContainerResponseSchema)),
    });
    // Our own listener in front of grpc-js, so that kubelets before 1.26 can register too (see kubelet-compat/).
    const front = new AuthorityFront(server.createConnectionInjector(grpc.ServerCredentials.createInsecure()), this.log, {
      onOldKubelet: () => this.metrics.oldKubeletConnections.inc(),
    });
    try {
      await front.listen(bindPath);
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
    this.server = server;
    this.front = front;
    this.unsubscribe = this.rm.onHealthChange(() => this.broadcast());
    this.log.debug({ socket: this.socketPath }, "device plugin socket serving");
  }

  /** Ends every ListAndWatch stream and closes the server. Closing unlinks the path it was bound at (libuv). */
  async stop(): Promise<void> {
    const server = this.server;
    const front = this.front;
    if (!server || !front) return;
    this.server = null;
    this.front = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const call of this.streams) call.end();
    // The gauge counts the streams of every server of this resource (a retiring one and its successor).
    this.metrics.streams.dec(this.labels, this.streams.size);
    this.streams.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000))),
    ]);
    clearTimeout(timer);
    server.forceShutdown();
    await front.close();
  }

  private listAndWatch(call: grpc.ServerWritableStream<Empty, unknown>): void {
    if (!this.server) {
      call.end();
      return;
    }
    // Each stream holds a copy of every snapshot its client has not read yet: a bounded number of them.
    // The newcomer is refused, not the oldest ended: the kubelet's stream opens right after Register, on
    // a socket we serve afresh after every kubelet restart, so it is never the newcomer of a flood.
    if (this.streams.size >= MAX_LIST_AND_WATCH_STREAMS) {
      this.log.warn({ resource: this.rm.resourceName, limit: MAX_LIST_AND_WATCH_STREAMS }, "ListAndWatch refused: too many streams open");
      call.emit("error", { code: grpc.status.RESOURCE_EXHAUSTED, details: `ListAndWatch: ${MAX_LIST_AND_WATCH_STREAMS} streams already open (the limit)` });
      return;
    }
    this.streams.add(call);
    this.metrics.streams.inc(this.labels);
    const gone = () => {
      if (!this.streams.delete(call)) return;
      this.metrics.streams.dec(this.labels);
      if (this.streams.size === 0 && this.server) this.events.streamsLost?.();
    };
    call.on("cancelled", gone);
    call.on("close", gone);
    call.on("error", gone);
    call.write(this.rm.snapshot());
    this.log.info({ resource: this.rm.resourceName, devices: this.rm.deviceCount, health: this.rm.currentHealth, streams: this.streams.size }, "ListAndWatch stream opened");
    this.events.streamOpened?.();
  }

  private broadcast(): void {
    if (this.streams.size === 0) return;
    const snapshot = this.rm.snapshot();
    for (const call of this.streams) call.write(snapshot);
    this.log.info({ resource: this.rm.resourceName, health: this.rm.currentHealth, streams: this.streams.size }, "device health changed; snapshot sent");
  }

  private get labels() {
    return { resource: this.rm.resourceName };
  }

  /** A refused request: INVALID_ARGUMENT with the (bounded) reason, one log line, the metrics. */
  private refuse(method: string, reason: string, cb: grpc.sendUnaryData<unknown>): void {
    if (method === "Allocate") this.metrics.allocations.inc({ ...this.labels, result: "rejected" });
    this.log.warn({ resource: this.rm.resourceName, reason }, `${method} rejected`);
    this.metrics.recordError(reason);
    cb({ code: grpc.status.INVALID_ARGUMENT, details: reason });
  }

  private preferred(req: PreferredAllocationRequest | RefusedRequest, cb: grpc.sendUnaryData<unknown>): void {
    if (req instanceof RefusedRequest) return this.refuse("GetPreferredAllocation", req.reason, cb);
    cb(
      null,
      create(PreferredAllocationResponseSchema, {
        containerResponses: req.containerRequests.map((c) =>
          create(ContainerPreferredAllocationResponseSchema, {
            deviceIDs: this.rm.preferredAllocation(c.availableDeviceIDs, c.mustIncludeDeviceIDs, c.allocationSize),
          }),
        ),
      }),
    );
  }

  private allocate(req: AllocateRequest | RefusedRequest, cb: grpc.sendUnaryData<unknown>): void {
    if (req instanceof RefusedRequest) return this.refuse("Allocate", req.reason, cb);
    try {
      const containerResponses = req.containerRequests.map((c) => this.rm.allocate(c.devicesIds));
      this.metrics.allocations.inc({ ...this.labels, result: "ok" }, containerResponses.length);
      cb(null, create(AllocateResponseSchema, { containerResponses }));
    } catch (err) {
      if (err instanceof AllocationRejected) return this.refuse("Allocate", err.message, cb);
      this.metrics.allocations.inc({ ...this.labels, result: "rejected" });
      this.log.error({ resource: this.rm.resourceName, err }, "Allocate failed");
      cb({ code: grpc.status.INTERNAL, details: "internal error in Allocate (see the plugin's log)" });
    }
  }
}
