// Hostile requests against the real plugin server (192 GiB advertised, so its receive limit is the full
// 4 MiB) from a real grpc-js client: each is refused with INVALID_ARGUMENT naming the limit, the status
// message and the log lines stay short, and a legitimate Allocate sent at the same time is answered.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { unixTarget } from "../../src/common/grpc-service.js";
import type { DevicePluginDaemon } from "../../src/deviceplugin/daemon.js";
import { deviceId } from "../../src/deviceplugin/device-ids.js";
import { MAX_LIST_AND_WATCH_STREAMS } from "../../src/deviceplugin/plugin-server.js";
import { MAX_CONTAINER_REQUESTS, MAX_DEVICE_ID_BYTES } from "../../src/deviceplugin/request-limits.js";
import { AllocateRequestSchema, AllocateResponseSchema, PreferredAllocationRequestSchema } from "../../src/gen/deviceplugin/v1beta1/api_pb.js";
import { fromBinary } from "@bufbuild/protobuf";
import { allServed, capturingLogger, ENCLAVE, ENCLAVE_DEVICES, makeRig, RESOURCE, startPlugin, type Rig } from "./helpers.js";

const EPC = 192 * 1024;
const MiB = 1024 * 1024;
/** A status message or log line that echoes client input is bounded by this, whatever was sent. */
const MAX_MESSAGE_CHARS = 400;
const MAX_LOG_LINE_CHARS = 2000;

interface Answer {
  err: grpc.ServiceError | null;
  body: Buffer | null;
}

describe("hostile requests to the plugin server", () => {
  let rig: Rig;
  let daemon: DevicePluginDaemon;
  let client: grpc.Client;
  let legit: grpc.Client;
  const logged = capturingLogger();
  const socket = (name: string) => path.join(rig.socketDir, name);

  before(async () => {
    rig = await makeRig();
    daemon = await startPlugin(rig, { epcMiB: EPC }, logged.log);
    await rig.kubelet.waitFor(allServed(EPC), 30_000, "first snapshots");
    client = new grpc.Client(unixTarget(socket("sgx-epc.sock")), grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    legit = new grpc.Client(unixTarget(socket("sgx-epc.sock")), grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
  });
  after(async () => {
    client.close();
    legit.close();
    await daemon.stop();
    await rig.cleanup();
  });

  /** One raw unary call with a deadline, so that a server that stalls fails the test instead of hanging it. */
  const call = (c: grpc.Client, method: string, bytes: Uint8Array, deadlineMs = 20_000) =>
    new Promise<Answer>((resolve) =>
      c.makeUnaryRequest(
        `/v1beta1.DevicePlugin/${method}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(bytes),
        { deadline: Date.now() + deadlineMs },
        (err, body) => resolve({ err: err ?? null, body: body ?? null }),
      ),
    );
  const encode = <D extends DescMessage>(schema: D, init: MessageInitShape<D>) => toBinary(schema, create(schema, init));

  /** The hostile call and a legitimate Allocate side by side: the legitimate one must be answered, in full. */
  async function refusedWhileServing(method: string, bytes: Uint8Array, limit: RegExp): Promise<grpc.ServiceError> {
    const linesBefore = logged.lines.length;
    const legitBytes = encode(AllocateRequestSchema, { containerRequests: [{ devicesIds: ["0", "1", "2"] }] });
    const [hostile, fine] = await Promise.all([call(client, method, bytes), call(legit, "Allocate", legitBytes, 5_000)]);
    assert.equal(fine.err, null, `the concurrent legitimate Allocate: ${fine.err?.message}`);
    assert.deepEqual(fromBinary(AllocateResponseSchema, fine.body!).containerResponses[0]!.envs, { SGX_EPC_MIB: "3" });
    assert.ok(hostile.err, "the hostile call must fail");
    assert.equal(hostile.err.code, grpc.status.INVALID_ARGUMENT, hostile.err.message);
    assert.match(hostile.err.details, limit);
    assert.ok(hostile.err.details.length <= MAX_MESSAGE_CHARS, `status message of ${hostile.err.details.length} chars`);
    for (const line of logged.lines.slice(linesBefore)) assert.ok(line.length <= MAX_LOG_LINE_CHARS, `log line of ${line.length} chars: ${line.slice(0, 200)}`);
    assert.ok(logged.lines.slice(linesBefore).some((l) => l.includes(`${method} rejected`) && l.includes(RESOURCE)), "one log line names the method and the resource");
    return hostile.err;
  }

  test("Allocate with 100,000 container requests: refused before decoding, naming the limit", async () => {
    const bytes = encode(AllocateRequestSchema, { containerRequests: Array.from({ length: 100_000 }, (_, i) => ({ devicesIds: [deviceId(i % EPC)] })) });
    await refusedWhileServing("Allocate", bytes, new RegExp(`^Allocate: more than ${MAX_CONTAINER_REQUESTS} container requests \\(the limit\\)$`));
  });

  test("GetPreferredAllocation with 20,000 container requests: refused, and the event loop stays free", async () => {
    const bytes = encode(PreferredAllocationRequestSchema, {
      containerRequests: Array.from({ length: 20_000 }, (_, i) => ({ availableDeviceIDs: [deviceId(i)], allocationSize: EPC })),
    });
    await refusedWhileServing("GetPreferredAllocation", bytes, new RegExp(`more than ${MAX_CONTAINER_REQUESTS} container requests`));
  });

  test("GetPreferredAllocation at the limits (256 containers, every device available) is answered, and so is the Allocate beside it", async () => {
    const all = Array.from({ length: EPC }, (_, i) => deviceId(i));
    const per = Math.floor(EPC / MAX_CONTAINER_REQUESTS);
    const bytes = encode(PreferredAllocationRequestSchema, {
      containerRequests: Array.from({ length: MAX_CONTAINER_REQUESTS }, (_, c) => ({ availableDeviceIDs: all.slice(c * per, (c + 1) * per), allocationSize: EPC })),
    });
    const legitBytes = encode(AllocateRequestSchema, { containerRequests: [{ devicesIds: ["0"] }] });
    const [big, fine] = await Promise.all([call(client, "GetPreferredAllocation", bytes), call(legit, "Allocate", legitBytes, 5_000)]);
    assert.equal(big.err, null, big.err?.message);
    assert.equal(fine.err, null, fine.err?.message);
  });

  test("a 1 MiB device ID: refused naming the 63-byte limit, never echoed into the status or the log", async () => {
    const huge = "A".repeat(MiB);
    const err = await refusedWhileServing("Allocate", encode(AllocateRequestSchema, { containerRequests: [{ devicesIds: ["0", huge] }] }), new RegExp(`a device ID of ${MiB} bytes in devices_ids, over the limit of ${MAX_DEVICE_ID_BYTES}`));
    assert.doesNotMatch(err.details, /AAAAAAAAAAAAAAAAA/);
    assert.ok(logged.lines.every((l) => !l.includes("A".repeat(17))));
    const preferred = encode(PreferredAllocationRequestSchema, { containerRequests: [{ availableDeviceIDs: ["0"], mustIncludeDeviceIDs: [huge], allocationSize: 1 }] });
    await refusedWhileServing("GetPreferredAllocation", preferred, /in must_include_deviceIDs, over the limit of 63/);
  });

  test("unknown IDs at the length limit: the message shows ten of them, each cut to 16 characters", async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `${"x".repeat(MAX_DEVICE_ID_BYTES - 4)}${String(i).padStart(4, "0")}`);
    const err = await refusedWhileServing("Allocate", encode(AllocateRequestSchema, { containerRequests: [{ devicesIds: ids }] }), /^unknown device IDs for kubernetes\.azure\.com\/sgx_epc_mem_in_MiB: "x{16}…"(, "x{16}…"){9} \(and 290 more\)$/);
    assert.ok(err.details.length < 300);
  });

  test("more IDs than the resource has devices: refused naming the device count", async () => {
    const enclave = new grpc.Client(unixTarget(socket("sgx-enclave.sock")), grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    try {
      const ids = Array.from({ length: ENCLAVE_DEVICES + 1 }, (_, i) => deviceId(i % ENCLAVE_DEVICES));
      const res = await call(enclave, "Allocate", encode(AllocateRequestSchema, { containerRequests: [{ devicesIds: ids }] }));
      assert.equal(res.err?.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(res.err.details, `Allocate: more than ${ENCLAVE_DEVICES} device IDs in devices_ids (the limit: the resource's device count)`);
      const ok = await call(enclave, "Allocate", encode(AllocateRequestSchema, { containerRequests: [{ devicesIds: ids.slice(0, ENCLAVE_DEVICES) }] }));
      assert.equal(ok.err, null);
      assert.ok(logged.lines.some((l) => l.includes("Allocate rejected") && l.includes(ENCLAVE)));
    } finally {
      enclave.close();
    }
  });

  test("a request over the receive limit is refused by gRPC (RESOURCE_EXHAUSTED) and the plugin serves on", async () => {
    const bytes = encode(AllocateRequestSchema, { containerRequests: [{ devicesIds: Array.from({ length: 80 }, () => "y".repeat(MAX_DEVICE_ID_BYTES)) }] });
    const padded = Buffer.concat([Buffer.from(bytes), Buffer.from([0x12, 0x80, 0x80, 0x80, 0x03]), Buffer.alloc(6 * MiB)]); // + a 6 MiB unknown field
    const res = await call(client, "Allocate", padded);
    assert.equal(res.err?.code, grpc.status.RESOURCE_EXHAUSTED, res.err?.message);
    assert.match(res.err.details, /larger than max \(\d+ vs\.? 4194304\)/);
    const small = new grpc.Client(unixTarget(socket("sgx-enclave.sock")), grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    try {
      // The enclave resource's 110 devices get a receive limit of 64 KiB.
      const over = await call(small, "Allocate", Buffer.concat([Buffer.from([0x12, 0x80, 0x80, 0x04]), Buffer.alloc(65536)]));
      assert.equal(over.err?.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(over.err.details, /vs\.? 65536\)/);
    } finally {
      small.close();
    }
    assert.equal(rig.kubelet.connected(RESOURCE), true);
    assert.equal((await call(legit, "Allocate", encode(AllocateRequestSchema, { containerRequests: [{ devicesIds: ["5"] }] }))).err, null);
  });

  test("malformed bytes: INVALID_ARGUMENT saying so", async () => {
    const res = await call(client, "Allocate", Buffer.from([0x0a, 0x64, 0x01, 0x02]));
    assert.equal(res.err?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(res.err.details, /^Allocate: malformed v1beta1\.AllocateRequest: /);
  });

  test(`ListAndWatch: at most ${MAX_LIST_AND_WATCH_STREAMS} streams; the kubelet's keeps its snapshots`, async () => {
    const flood = new grpc.Client(unixTarget(socket("sgx-enclave.sock")), grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    const streams: grpc.ClientReadableStream<Buffer>[] = [];
    try {
      const outcomes = await Promise.all(
        Array.from({ length: MAX_LIST_AND_WATCH_STREAMS + 4 }, () => {
          const s = flood.makeServerStreamRequest("/v1beta1.DevicePlugin/ListAndWatch", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0));
          streams.push(s);
          return new Promise<string>((resolve) => {
            s.once("data", () => resolve("snapshot"));
            s.once("error", (e: grpc.ServiceError) => resolve(`${grpc.status[e.code]}: ${e.details}`));
            setTimeout(() => resolve("timeout"), 10_000).unref();
          });
        }),
      );
      // The kubelet holds one of the slots already.
      assert.equal(outcomes.filter((o) => o === "snapshot").length, MAX_LIST_AND_WATCH_STREAMS - 1, outcomes.join("\n"));
      assert.equal(outcomes.filter((o) => o === `RESOURCE_EXHAUSTED: ListAndWatch: ${MAX_LIST_AND_WATCH_STREAMS} streams already open (the limit)`).length, 5, outcomes.join("\n"));
      assert.equal(rig.kubelet.connected(ENCLAVE), true);
      assert.equal(rig.kubelet.allocatable(ENCLAVE), ENCLAVE_DEVICES);
    } finally {
      for (const s of streams) s.cancel();
      flood.close();
    }
  });
});
