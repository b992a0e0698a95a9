// The kubelet's client to one device plugin (`devicemanager/plugin/v1beta1/client.go`): dial the plugin's
// unix socket with a deadline, unary calls, and the ListAndWatch stream, with grpc-go's default 4 MiB
// receive limit, because the kubelet sets no size option.
import type { MessageShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcService, unixTarget } from "../common/grpc-service.js";
import { DevicePlugin, EmptySchema, type ListAndWatchResponse } from "../gen/deviceplugin/v1beta1/api_pb.js";

export const KUBELET_MAX_RECEIVE_BYTES = 4 * 1024 * 1024;
export const KUBELET_DIAL_TIMEOUT_MS = 10_000;
export const KUBELET_PRESTART_TIMEOUT_MS = 30_000;

type Methods = typeof DevicePlugin.method;
type UnaryName = "getDevicePluginOptions" | "getPreferredAllocation" | "allocate" | "preStartContainer";
type Input<K extends keyof Methods> = MessageShape<Methods[K]["input"]>;
type Output<K extends keyof Methods> = MessageShape<Methods[K]["output"]>;

const definition = grpcService(DevicePlugin);

/** A failed call to a plugin; `code` is the gRPC status code. */
export class PluginCallError extends Error {
  constructor(
    readonly method: string,
    readonly code: grpc.status,
    details: string,
  ) {
    super(`${method}: ${grpc.status[code] ?? code}: ${details}`);
    this.name = "PluginCallError";
  }
}

export class DevicePluginClient {
  private readonly client: grpc.Client;

  constructor(
    readonly socketPath: string,
    /** Send the socket path as :authority, as kubelets before 1.26 did (see SimulatedKubeletOptions). */
    opts: { legacyAuthority?: boolean } = {},
  ) {
    this.client = new grpc.Client(unixTarget(socketPath), grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": KUBELET_MAX_RECEIVE_BYTES,
      // Our own connection, never shared with other clients of the same socket in this process.
      "grpc.use_local_subchannel_pool": 1,
      ...(opts.legacyAuthority ? { "grpc.default_authority": socketPath } : {}),
    });
  }

  /** Waits until the channel is connected (grpc `WithBlock`), or fails after `timeoutMs`. */
  connect(timeoutMs = KUBELET_DIAL_TIMEOUT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(Date.now() + timeoutMs, (err) => {
        if (err) reject(new Error(`dial ${this.socketPath}: not reachable within ${timeoutMs} ms (${err.message})`));
        else resolve();
      });
    });
  }

  getDevicePluginOptions(): Promise<Output<"getDevicePluginOptions">> {
    return this.unary("getDevicePluginOptions", create(EmptySchema));
  }

  getPreferredAllocation(req: Input<"getPreferredAllocation">): Promise<Output<"getPreferredAllocation">> {
    return this.unary("getPreferredAllocation", req);
  }

  allocate(req: Input<"allocate">): Promise<Output<"allocate">> {
    return this.unary("allocate", req);
  }

  preStartContainer(req: Input<"preStartContainer">): Promise<Output<"preStartContainer">> {
    return this.unary("preStartContainer", req, KUBELET_PRESTART_TIMEOUT_MS);
  }

  listAndWatch(): grpc.ClientReadableStream<ListAndWatchResponse> {
    const m = definition.listAndWatch!;
    return this.client.makeServerStreamRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize as (b: Buffer) => ListAndWatchResponse,
      create(EmptySchema),
    );
  }

  close(): void {
    this.client.close();
  }

  private unary<K extends UnaryName>(name: K, req: Input<K>, timeoutMs?: number): Promise<Output<K>> {
    const m = definition[name]!;
    const options: grpc.CallOptions = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize as (b: Buffer) => Output<K>,
        req,
        options,
        (err, res) => {
          if (err) reject(new PluginCallError(m.path, err.code, err.details));
          else resolve(res!);
        },
      );
    });
  }
}
