// The device plugin in this process against the simulated kubelet over real unix sockets.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { unixTarget } from "../../src/common/grpc-service.js";
import type { DevicePluginDaemon } from "../../src/deviceplugin/daemon.js";
import { SocketInUseError } from "../../src/deviceplugin/socket-file.js";
import {
  AllocateRequestSchema,
  PreferredAllocationRequestSchema,
  PreStartContainerRequestSchema,
  PreStartContainerResponseSchema,
  type ListAndWatchResponse,
} from "../../src/gen/deviceplugin/v1beta1/api_pb.js";
import { DevicePluginClient, PluginCallError } from "../../src/kubelet/plugin-client.js";
import { bothServed, httpGet, makeRig, RESOURCE, startPlugin, type Rig } from "./helpers.js";

const EPC = 64;

describe("device plugin with a simulated kubelet", () => {
  let rig: Rig;
  let daemon: DevicePluginDaemon;
  const socket = () => path.join(rig.socketDir, "sgx-epc.sock");

  before(async () => {
    rig = await makeRig();
    daemon = await startPlugin(rig, { epcMiB: EPC });
    await rig.kubelet.waitFor(bothServed(EPC), 20_000, "first snapshots of both resources");
  });
  after(async () => {
    await daemon.stop();
    await rig.cleanup();
  });

  test("registers with the kubelet: capacity = allocatable = EPC MiB, options, nil topology", async () => {
    assert.equal(rig.kubelet.registrationCount(RESOURCE), 1);
    assert.equal(rig.kubelet.capacity(RESOURCE), EPC);
    assert.equal(rig.kubelet.allocatable(RESOURCE), EPC);
    const opts = rig.kubelet.pluginOptions(RESOURCE)!;
    assert.equal(opts.getPreferredAllocationAvailable, true);
    assert.equal(opts.preStartRequired, false);
    const devices = rig.kubelet.devices(RESOURCE);
    assert.deepEqual(devices.slice(0, 3).map((d) => d.ID), ["0", "1", "2"]);
    assert.equal(devices.at(-1)!.ID, (EPC - 1).toString(36));
    assert.ok(devices.every((d) => d.health === "Healthy" && d.topology === undefined));
    const ready = await httpGet(daemon.ops.address().port, "/readyz");
    assert.equal(ready.status, 200);
  });

  test("allocation of 10 MiB: enclave and provision device specs, SGX_EPC_MIB=10", async () => {
    const { deviceIds, response } = await rig.kubelet.admitContainer(RESOURCE, 10);
    try {
      assert.equal(deviceIds.length, 10);
      assert.deepEqual(response.envs, { SGX_EPC_MIB: "10" });
      assert.deepEqual(
        response.devices.map((d) => [d.containerPath, d.hostPath, d.permissions]),
        [
          ["/dev/sgx_enclave", path.join(rig.devRoot, "dev/sgx_enclave"), "rw"],
          ["/dev/sgx_provision", path.join(rig.devRoot, "dev/sgx_provision"), "rw"],
        ],
      );
      for (const d of response.devices) assert.ok(!(await fs.stat(d.hostPath)).isDirectory());
      assert.deepEqual(response.mounts, []);
    } finally {
      rig.kubelet.release(RESOURCE, deviceIds);
    }
  });

  test("unknown IDs are rejected with INVALID_ARGUMENT naming them, the list capped", async () => {
    const bad = ["0", "nope", "1", ...Array.from({ length: 14 }, (_, i) => `x${i}`)];
    await assert.rejects(rig.kubelet.allocate(RESOURCE, bad), (err: PluginCallError) => {
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      assert.match(err.message, /unknown device IDs/);
      assert.match(err.message, /"nope"/);
      assert.match(err.message, /\(and 5 more\)/);
      assert.doesNotMatch(err.message, /"0"/);
      return true;
    });
    // an ID one past the end, and a non-canonical spelling of a valid one
    await assert.rejects(rig.kubelet.allocate(RESOURCE, [EPC.toString(36), "01"]), /"1s".*"01"|unknown/);
  });

  test("preferred allocation is compact: must-include first, then the lowest run that fits", async () => {
    // free: 0-2, 5-19, 30-63; must include "u" (30)
    const available = [...Array(EPC).keys()].filter((i) => i < 3 || (i >= 5 && i < 20) || i >= 30).map((i) => i.toString(36));
    const got = await rig.kubelet.preferredAllocation(RESOURCE, available, ["u"], 6);
    assert.deepEqual(got, ["u", "5", "6", "7", "8", "9"]);
    // no run long enough: the lowest free IDs
    const sparse = ["1", "3", "5", "7", "9"];
    assert.deepEqual(await rig.kubelet.preferredAllocation(RESOURCE, sparse, [], 3), ["1", "3", "5"]);
  });

  test("several ListAndWatch streams all get the snapshot and every health change", async () => {
    const clients = [new DevicePluginClient(socket()), new DevicePluginClient(socket())];
    const seen: ListAndWatchResponse[][] = [[], []];
    const streams = clients.map((c, i) => {
      const s = c.listAndWatch();
      s.on("data", (r: ListAndWatchResponse) => seen[i]!.push(r));
      s.on("error", () => {});
      return s;
    });
    const until = async (pred: () => boolean, what: string) => {
      const deadline = Date.now() + 15_000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await until(() => seen.every((s) => s.length >= 1), "first snapshots");
      assert.ok(seen.every((s) => s[0]!.devices.length === EPC && s[0]!.devices.every((d) => d.health === "Healthy")));

      // device node removed -> all Unhealthy, seen through the kubelet and every stream
      const enclave = path.join(rig.devRoot, "dev/sgx_enclave");
      await fs.rm(enclave);
      await rig.kubelet.waitFor((k) => k.allocatable(RESOURCE) === 0 && k.capacity(RESOURCE) === EPC, 15_000, "all Unhealthy");
      await until(() => seen.every((s) => s.at(-1)!.devices.every((d) => d.health === "Unhealthy")), "Unhealthy on all streams");
      assert.equal((await httpGet(daemon.ops.address().port, "/readyz")).status, 503);
      await assert.rejects(rig.kubelet.allocate(RESOURCE, ["0", "1"]), (err: PluginCallError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.match(err.message, /unhealthy devices.*"0", "1"/);
        return true;
      });

      // restored -> Healthy again
      await fs.symlink("/dev/null", enclave);
      await rig.kubelet.waitFor((k) => k.allocatable(RESOURCE) === EPC, 15_000, "Healthy again");
      await until(() => seen.every((s) => s.at(-1)!.devices.every((d) => d.health === "Healthy")), "Healthy on all streams");
      assert.equal((await httpGet(daemon.ops.address().port, "/readyz")).status, 200);
    } finally {
      for (const s of streams) s.cancel();
      for (const c of clients) c.close();
    }
  });

  test("malformed protobuf to Allocate gets a gRPC error and the daemon lives", async () => {
    const client = new grpc.Client(unixTarget(socket()), grpc.credentials.createInsecure());
    const raw = (bytes: Buffer) =>
      new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest("/v1beta1.DevicePlugin/Allocate", (b: Buffer) => b, (b: Buffer) => b, bytes, (err) => resolve(err)),
      );
    try {
      // field 1, length-delimited, claims 100 bytes but carries 2; then a lone invalid tag
      for (const junk of [Buffer.from([0x0a, 0x64, 0x01, 0x02]), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]) {
        const err = await raw(junk);
        assert.ok(err, "malformed request must fail");
        assert.notEqual(err.code, grpc.status.OK);
      }
      const valid = toBinary(AllocateRequestSchema, create(AllocateRequestSchema, { containerRequests: [{ devicesIds: ["0"] }] }));
      const ok = await raw(Buffer.from(valid));
      assert.equal(ok, null);
      assert.equal(rig.kubelet.connected(RESOURCE), true);
    } finally {
      client.close();
    }
  });

  test("PreStartContainer answers empty; GetPreferredAllocation answers every container", async () => {
    const client = new DevicePluginClient(socket());
    try {
      const pre = await client.preStartContainer(create(PreStartContainerRequestSchema, { devicesIds: ["0"] }));
      assert.equal(toBinary(PreStartContainerResponseSchema, pre).length, 0);
      const res = await client.getPreferredAllocation(
        create(PreferredAllocationRequestSchema, {
          containerRequests: [
            { availableDeviceIDs: ["3", "4", "5"], allocationSize: 2 },
            { availableDeviceIDs: ["7", "9", "b", "c"], mustIncludeDeviceIDs: ["7"], allocationSize: 3 },
          ],
        }),
      );
      assert.deepEqual(res.containerResponses.map((c) => c.deviceIDs), [["3", "4"], ["7", "b", "c"]]);
    } finally {
      client.close();
    }
  });

  test("a second plugin on the same live socket is refused", async () => {
    await assert.rejects(startPlugin(rig, { epcMiB: EPC }), (err: Error) => {
      assert.ok(err instanceof SocketInUseError);
      assert.match(err.message, /in use: another device plugin is serving it/);
      return true;
    });
    assert.equal(rig.kubelet.registrationCount(RESOURCE), 1);
  });

  test("/metrics: registered, devices by health, allocations, registrations", async () => {
    // Its own ok and rejected allocations, so the counts do not depend on earlier tests having run.
    const { deviceIds } = await rig.kubelet.admitContainer(RESOURCE, 1);
    rig.kubelet.release(RESOURCE, deviceIds);
    await assert.rejects(rig.kubelet.allocate(RESOURCE, ["not-a-device"]), (err: PluginCallError) => err.code === grpc.status.INVALID_ARGUMENT);
    const { status, body } = await httpGet(daemon.ops.address().port, "/metrics");
    assert.equal(status, 200);
    assert.match(body, /^confcom_device_plugin_registered 1$/m);
    assert.match(body, new RegExp(`^confcom_device_plugin_devices\\{health="Healthy"\\} ${EPC}$`, "m"));
    assert.match(body, /^confcom_device_plugin_devices\{health="Unhealthy"\} 0$/m);
    assert.match(body, /^confcom_device_plugin_allocations_total\{result="ok"\} [1-9]/m);
    assert.match(body, /^confcom_device_plugin_allocations_total\{result="rejected"\} [1-9]/m);
    assert.match(body, /^confcom_device_plugin_registrations_total 2$/m, "the EPC and the enclave resources");
    assert.match(body, /^confcom_device_plugin_epc_mib 64$/m);
    assert.match(body, /^confcom_device_plugin_last_error_info\{message=".+"\} 1$/m);
  });
});


describe("device plugin options", () => {
  test("--no-provision: allocations omit the provision node", async () => {
    const rig = await makeRig();
    const daemon = await startPlugin(rig, { epcMiB: 16, provision: false });
    try {
      await rig.kubelet.waitFor((k) => k.allocatable(RESOURCE) === 16, 20_000, "snapshot");
      const res = await rig.kubelet.allocate(RESOURCE, ["a", "b", "c"]);
      assert.deepEqual(res.devices.map((d) => d.containerPath), ["/dev/sgx_enclave"]);
      assert.deepEqual(res.envs, { SGX_EPC_MIB: "3" });
    } finally {
      await daemon.stop();
      await rig.cleanup();
    }
  });

  test("a stale socket file from a dead plugin is replaced", async () => {
    const rig = await makeRig();
    const stale = path.join(rig.socketDir, "sgx-epc.sock");
    // a unix socket nobody listens on: bind one, then keep the file while closing (as a crash would)
    const net = await import("node:net");
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(stale, r));
    await fs.link(stale, `${stale}.keep`);
    await new Promise<void>((r) => srv.close(() => r()));
    await fs.rename(`${stale}.keep`, stale);
    const daemon = await startPlugin(rig, { epcMiB: 8 });
    try {
      await rig.kubelet.waitFor((k) => k.allocatable(RESOURCE) === 8, 20_000, "registration over a stale socket");
    } finally {
      await daemon.stop();
      await rig.cleanup();
    }
    await assert.rejects(fs.stat(stale), /ENOENT/);
  });
});

describe("192 GiB of EPC", () => {
  test("the kubelet, with its 4 MiB receive limit, gets all 196608 devices, Healthy and Unhealthy", async () => {
    const rig = await makeRig();
    const epc = 192 * 1024;
    const daemon = await startPlugin(rig, { epcMiB: epc });
    try {
      await rig.kubelet.waitFor((k) => k.allocatable(RESOURCE) === epc, 30_000, "192 GiB snapshot");
      assert.equal(rig.kubelet.devices(RESOURCE).at(-1)!.ID, "47pb");
      // the Unhealthy snapshot is the larger one
      await fs.rm(path.join(rig.devRoot, "dev/sgx_enclave"));
      await rig.kubelet.waitFor((k) => k.allocatable(RESOURCE) === 0 && k.capacity(RESOURCE) === epc, 30_000, "192 GiB Unhealthy snapshot");
      assert.equal(rig.kubelet.connected(RESOURCE), true, rig.kubelet.lastError(RESOURCE) ?? "");
    } finally {
      await daemon.stop();
      await rig.cleanup();
    }
  });
});
