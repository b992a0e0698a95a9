// The re-registration baseline: the least a device plugin can do after a kubelet restart. It is told the
// moment the new kubelet serves (no watching, no stat, no retry), binds each resource's socket straight
// with grpc-js (no authority front, no staging), registers, and answers ListAndWatch with a pre-encoded
// snapshot. Same kubelet peer, same resources and device counts as the daemon it is compared with.
import { promises as fs } from "node:fs";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { grpcService, unixTarget } from "../../src/common/grpc-service.js";
import { encodeSnapshot, HEALTHY } from "../../src/deviceplugin/device-ids.js";
import { PLUGIN_OPTIONS } from "../../src/deviceplugin/plugin-server.js";
import { registerWithKubelet } from "../../src/deviceplugin/registration.js";
import { DevicePlugin } from "../../src/gen/deviceplugin/v1beta1/api_pb.js";

export interface BareResource {
  resourceName: string;
  devices: number;
}

export class BarePlugin {
  private servers: grpc.Server[] = [];

  constructor(
    private readonly socketDir: string,
    private readonly resources: readonly BareResource[],
  ) {}

  /** Serves every resource and registers each with the kubelet now serving in the directory. */
  async register(): Promise<void> {
    await this.stop();
    await Promise.all(this.resources.map((r, i) => this.serveAndRegister(r, `bare-${i}.sock`)));
  }

  async stop(): Promise<void> {
    for (const s of this.servers.splice(0)) s.forceShutdown();
  }

  private async serveAndRegister(r: BareResource, socketName: string): Promise<void> {
    const socket = path.join(this.socketDir, socketName);
    await fs.rm(socket, { force: true });
    const snapshot = encodeSnapshot(r.devices, HEALTHY);
    const def = grpcService(DevicePlugin);
    const server = new grpc.Server();
    server.addService({ ...def, listAndWatch: { ...def.listAndWatch!, responseSerialize: (b: Buffer) => b } }, {
      getDevicePluginOptions: (_c: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, PLUGIN_OPTIONS),
      listAndWatch: (call: grpc.ServerWritableStream<unknown, Buffer>) => call.write(snapshot),
    });
    await new Promise<void>((res, rej) => server.bindAsync(unixTarget(socket), grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    this.servers.push(server);
    await registerWithKubelet({ kubeletSocket: path.join(this.socketDir, "kubelet.sock"), endpoint: socketName, resourceName: r.resourceName, deadlineMs: 5000 });
  }
}
