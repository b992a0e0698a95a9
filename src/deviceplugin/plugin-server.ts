// The DevicePlugin gRPC service on our unix socket: the kubelet's view of the EPC resource manager.
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcService, unixTarget } from "../common/grpc-service.js";
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
import type { DevicePluginMetrics } from "./metrics.js";
import { AllocationRejected, type EpcResourceManager } from "./resource-manager.js";

export const PLUGIN_OPTIONS = create(DevicePluginOptionsSchema, { preStartRequired: false, getPreferredAllocationAvailable: true });

/** The generated service definition, except that ListAndWatch also accepts a pre-encoded snapshot. */
function serviceDefinition(): grpc.ServiceDefinition {
  const def = grpcService(DevicePlugin);
  const law = def.listAndWatch!;
  const serialize = law.responseSerialize;
  return { ...def, listAndWatch: { ...law, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : serialize(v)) } };
}

export class PluginServer {
  private server: grpc.Server | null = null;
  private readonly streams = new Set<grpc.ServerWritableStream<Empty, unknown>>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly rm: EpcResourceManager,
    private readonly socketPath: string,
    private readonly log: Logger,
    private readonly metrics: DevicePluginMetrics,
    /** Called when the last ListAndWatch stream closes while serving (the kubelet went away). */
    private readonly onStreamsLost: () => void = () => {},
  ) {}

  get streamCount(): number {
    return this.streams.size;
  }

  /** Binds the socket at `bindPath` (default: our socket path, which must be free) and serves until `stop`. */
  async start(bindPath = this.socketPath): Promise<void> {
    if (this.server) throw new Error("plugin server already running");
    const server = new grpc.Server();
    server.addService(serviceDefinition(), {
      getDevicePluginOptions: (_call: grpc.ServerUnaryCall<Empty, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, PLUGIN_OPTIONS),
      listAndWatch: (call: grpc.ServerWritableStream<Empty, unknown>) => this.listAndWatch(call),
      getPreferredAllocation: (call: grpc.ServerUnaryCall<PreferredAllocationRequest, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, this.preferred(call.request)),
      allocate: (call: grpc.ServerUnaryCall<AllocateRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => this.allocate(call.request, cb),
      preStartContainer: (_call: grpc.ServerUnaryCall<PreStartContainerRequest, unknown>, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, create(PreStartContainerResponseSchema)),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(unixTarget(bindPath), grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    this.server = server;
    this.unsubscribe = this.rm.onHealthChange(() => this.broadcast());
    this.log.debug({ socket: this.socketPath }, "device plugin socket serving");
  }

  /** Ends every ListAndWatch stream and closes the server. Closing unlinks the path it was bound at (libuv). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    for (const call of this.streams) call.end();
    // Several servers (EPC and enclave resources) share the gauge: each takes back only its own streams.
    this.metrics.streams.dec(this.streams.size);
    this.streams.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000))),
    ]);
    clearTimeout(timer);
    server.forceShutdown();
  }

  private listAndWatch(call: grpc.ServerWritableStream<Empty, unknown>): void {
    if (!this.server) {
      call.end();
      return;
    }
    this.streams.add(call);
    this.metrics.streams.inc();
    const gone = () => {
      if (!this.streams.delete(call)) return;
      this.metrics.streams.dec();
      if (this.streams.size === 0 && this.server) this.onStreamsLost();
    };
    call.on("cancelled", gone);
    call.on("close", gone);
    call.on("error", gone);
    call.write(this.rm.snapshot());
    this.log.info({ resource: this.rm.resourceName, devices: this.rm.deviceCount, health: this.rm.currentHealth, streams: this.streams.size }, "ListAndWatch stream opened");
  }

  private broadcast(): void {
    const snapshot = this.rm.snapshot();
    for (const call of this.streams) call.write(snapshot);
    this.log.info({ health: this.rm.currentHealth, streams: this.streams.size }, "device health changed; snapshot sent");
  }

  private preferred(req: PreferredAllocationRequest) {
    return create(PreferredAllocationResponseSchema, {
      containerResponses: req.containerRequests.map((c) =>
        create(ContainerPreferredAllocationResponseSchema, {
          deviceIDs: this.rm.preferredAllocation(c.availableDeviceIDs, c.mustIncludeDeviceIDs, c.allocationSize),
        }),
      ),
    });
  }

  private allocate(req: AllocateRequest, cb: grpc.sendUnaryData<unknown>): void {
    try {
      const containerResponses = req.containerRequests.map((c) => this.rm.allocate(c.devicesIds));
      this.metrics.allocations.inc({ result: "ok" }, containerResponses.length);
      cb(null, create(AllocateResponseSchema, { containerResponses }));
    } catch (err) {
      this.metrics.allocations.inc({ result: "rejected" });
      if (!(err instanceof AllocationRejected)) {
        this.log.error({ err }, "Allocate failed");
        cb({ code: grpc.status.INTERNAL, details: String(err) });
        return;
      }
      this.log.warn({ reason: err.message }, "Allocate rejected");
      this.metrics.recordError(err.message);
      cb({ code: grpc.status.INVALID_ARGUMENT, details: err.message });
    }
  }
}
