// The ListAndWatch snapshot: byte-exact against the generated codec, and its size at 192 GiB measured
// against the kubelet's 4 MiB receive limit.
import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ListAndWatchResponseSchema } from "../../src/gen/deviceplugin/v1beta1/api_pb.js";
import {
  deviceId,
  encodeSnapshot,
  GRPC_FRAME_HEADER_BYTES,
  HEALTHY,
  KUBELET_MAX_MESSAGE_BYTES,
  maxDevices,
  parseDeviceId,
  snapshotWireBytes,
  UNHEALTHY,
  type Health,
} from "../../src/deviceplugin/device-ids.js";

function generated(count: number, health: Health): Uint8Array {
  return toBinary(
    ListAndWatchResponseSchema,
    create(ListAndWatchResponseSchema, { devices: Array.from({ length: count }, (_, i) => ({ ID: deviceId(i), health })) }),
  );
}

test("hand-encoded snapshot equals the generated codec byte for byte, across ID-length boundaries", () => {
  for (const count of [0, 1, 35, 36, 37, 1295, 1296, 1297, 5000]) {
    for (const health of [HEALTHY, UNHEALTHY] as const) {
      const ours = encodeSnapshot(count, health);
      assert.deepEqual(new Uint8Array(ours), generated(count, health), `count ${count} ${health}`);
      assert.equal(snapshotWireBytes(count, health), ours.length + GRPC_FRAME_HEADER_BYTES);
      const decoded = fromBinary(ListAndWatchResponseSchema, ours);
      assert.equal(decoded.devices.length, count);
      // nil TopologyInfo: an empty non-nil one makes TopologyManager reject pods
      assert.ok(decoded.devices.every((d) => d.topology === undefined));
    }
  }
});

test("192 GiB = 196608 devices fits under 4 MiB with room (measured with the generated codec)", () => {
  const count = 192 * 1024;
  for (const health of [HEALTHY, UNHEALTHY] as const) {
    const measured = generated(count, health).length + GRPC_FRAME_HEADER_BYTES;
    assert.equal(measured, snapshotWireBytes(count, health));
    const share = measured / KUBELET_MAX_MESSAGE_BYTES;
    console.log(`192 GiB snapshot (${health}): ${measured} bytes on the wire = ${(share * 100).toFixed(1)}% of 4194304`);
    assert.ok(measured < KUBELET_MAX_MESSAGE_BYTES * 0.9, `${measured} bytes leaves less than 10% room`);
  }
  assert.equal(snapshotWireBytes(count, HEALTHY), 3_294_353);
  assert.equal(snapshotWireBytes(count, UNHEALTHY), 3_687_569);
});

test("the largest advertisable EPC is the last count whose Unhealthy snapshot fits", () => {
  const max = maxDevices();
  console.log(`largest EPC in device mode: ${max} MiB (${(max / 1024).toFixed(1)} GiB)`);
  assert.equal(max, 223_278);
  assert.ok(snapshotWireBytes(max, UNHEALTHY) <= KUBELET_MAX_MESSAGE_BYTES);
  assert.ok(snapshotWireBytes(max + 1, UNHEALTHY) > KUBELET_MAX_MESSAGE_BYTES);
  assert.ok(snapshotWireBytes(256 * 1024, HEALTHY) > KUBELET_MAX_MESSAGE_BYTES);
});

test("device IDs: canonical base-36 only, within range", () => {
  assert.equal(deviceId(0), "0");
  assert.equal(deviceId(35), "z");
  assert.equal(deviceId(36), "10");
  assert.equal(deviceId(196607), "47pb");
  for (const i of [0, 9, 10, 35, 36, 1295, 1296, 196607]) assert.equal(parseDeviceId(deviceId(i), 196608), i);
  for (const bad of ["", "00", "01", "A", "-1", " 1", "1 ", "47pc", "zzzzzzzzzzzz", "é"]) {
    assert.equal(parseDeviceId(bad, 196608), -1, JSON.stringify(bad));
  }
});
