// One Register call to the kubelet, on a fresh connection with a short deadline, so that a dead
// kubelet.sock fails fast and a hung kubelet cannot hold the restart loop.
import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcService, unixTarget } from "../common/grpc-service.js";
import { Registration, RegisterRequestSchema } from "../gen/deviceplugin/v1beta1/api_pb.js";
import { PLUGIN_OPTIONS } from "./plugin-server.js";

export const API_VERSION = "v1beta1";
const register = grpcService(Registration).register!;

export interface RegisterParams {
  kubeletSocket: string;
  /** Our socket's file name in the kubelet's directory. */
  endpoint: string;
  resourceName: string;
  deadlineMs: number;
}

export function registerWithKubelet(p: RegisterParams): Promise<void> {
  // A channel of its own each time: grpc-js would otherwise share a subchannel, and its reconnect backoff,
  // across attempts to the same path, which outlives the kubelet whose socket it was.
  const client = new grpc.Client(unixTarget(p.kubeletSocket), grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  const req = create(RegisterRequestSchema, { version: API_VERSION, endpoint: p.endpoint, resourceName: p.resourceName, options: PLUGIN_OPTIONS });
  return new Promise<void>((resolve, reject) => {
    client.makeUnaryRequest(register.path, register.requestSerialize, register.responseDeserialize, req, { deadline: Date.now() + p.deadlineMs }, (err) => {
      client.close();
      if (err) reject(new Error(`register with ${p.kubeletSocket}: ${grpc.status[err.code] ?? err.code}: ${err.details.slice(0, 300)}`));
      else resolve();
    });
  });
}
