// A minimal device plugin for testing the simulated kubelet: a real grpc-js server on a unix socket with the
// generated DevicePlugin service, whose device list and options the test controls.
import path from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcService, unixTarget } from "../../src/common/grpc-service.js";
import {
  AllocateResponseSchema,
  DevicePlugin,
  DevicePluginOptionsSchema,
  DeviceSchema,
  ListAndWatchResponseSchema,
  PreStartContainerResponseSchema,
  PreferredAllocationResponseSchema,
  RegisterRequestSchema,
  Registration,
  type AllocateRequest,
  type ListAndWatchResponse,
  type PreStartContainerRequest,
  type PreferredAllocationRequest,
  type RegisterRequest,
} from "../../src/gen/deviceplugin/v1beta1/api_pb.js";

export type DeviceInit = MessageInitShape<typeof DeviceSchema>;

export class FakePlugin {
  readonly allocateRequests: AllocateRequest[] = [];
  readonly preferredRequests: PreferredAllocationRequest[] = [];
  readonly preStartRequests: PreStartContainerRequest[] = [];
  /** How many ListAndWatch streams the kubelet has cancelled. */
  cancelledStreams = 0;
  private readonly streams = new Set<grpc.ServerWritableStream<unknown, ListAndWatchResponse>>();
  private server: grpc.Server | null = null;

  constructor(
    readonly socketPath: string,
    private devices: DeviceInit[],
    private readonly options: { preStartRequired?: boolean; getPreferredAllocationAvailable?: boolean } = {},
  ) {}

  get endpoint(): string {
    return path.basename(this.socketPath);
  }

  get openStreams(): number {
    return this.streams.size;
  }

  async start(): Promise<void> {
    const server = new grpc.Server();
    server.addService(grpcService(DevicePlugin), {
      getDevicePluginOptions: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
        cb(null, create(DevicePluginOptionsSchema, this.options)),
      listAndWatch: (call: grpc.ServerWritableStream<unknown, ListAndWatchResponse>) => {
        this.streams.add(call);
        call.on("cancelled", () => {
          this.cancelledStreams += 1;
          this.streams.delete(call);
        });
        call.write(this.snapshot());
      },
      allocate: (call: grpc.ServerUnaryCall<AllocateRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.allocateRequests.push(call.request);
        cb(
          null,
          create(AllocateResponseSchema, {
            containerResponses: call.request.containerRequests.map((r) => ({
              envs: { FAKE_DEVICES: r.devicesIds.join(",") },
              devices: [{ containerPath: "/dev/fake", hostPath: "/dev/null", permissions: "rw" }],
            })),
          }),
        );
      },
      getPreferredAllocation: (call: grpc.ServerUnaryCall<PreferredAllocationRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.preferredRequests.push(call.request);
        // Prefers the highest-sorted IDs, so a test can tell the preference was used.
        cb(
          null,
          create(PreferredAllocationResponseSchema, {
            containerResponses: call.request.containerRequests.map((r) => ({
              deviceIDs: [...r.availableDeviceIDs].sort().reverse().slice(0, r.allocationSize),
            })),
          }),
        );
      },
      preStartContainer: (call: grpc.ServerUnaryCall<PreStartContainerRequest, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.preStartRequests.push(call.request);
        cb(null, create(PreStartContainerResponseSchema));
      },
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(unixTarget(this.socketPath), grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    this.server = server;
  }

  /** Replaces the device list and sends the new snapshot on every open stream. */
  setDevices(devices: DeviceInit[]): void {
    this.devices = devices;
    for (const s of this.streams) s.write(this.snapshot());
  }

  /** Sends a prebuilt snapshot (e.g. an oversized one) on every open stream. */
  sendRaw(devices: DeviceInit[]): void {
    const msg = create(ListAndWatchResponseSchema, { devices });
    for (const s of this.streams) s.write(msg);
  }

  /** Ends every ListAndWatch stream with status OK, as a plugin shutting down its streams does. */
  endStreams(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
  }

  stop(): void {
    this.server?.forceShutdown();
    this.server = null;
  }

  private snapshot(): ListAndWatchResponse {
    return create(ListAndWatchResponseSchema, { devices: this.devices });
  }
}

/** Calls Register on a kubelet socket as a plugin does. */
export function register(
  kubeletSocket: string,
  req: Partial<Pick<RegisterRequest, "version" | "endpoint" | "resourceName">>,
): Promise<void> {
  const client = new grpc.Client(unixTarget(kubeletSocket), grpc.credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });
  const m = grpcService(Registration).register!;
  return new Promise<void>((resolve, reject) => {
    client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      create(RegisterRequestSchema, { version: "v1beta1", ...req }),
      { deadline: Date.now() + 30_000 },
      (err) => (err ? reject(err) : resolve()),
    );
  }).finally(() => client.close());
}
