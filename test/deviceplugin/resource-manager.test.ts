// The EPC resource manager on its own: allocation checks and preferred allocation at 192 GiB scale.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { deviceId, parseDeviceId } from "../../src/deviceplugin/device-ids.js";
import { AllocationRejected, SgxResourceManager, type SgxDeviceNode } from "../../src/deviceplugin/resource-manager.js";

const NODES: SgxDeviceNode[] = [
  { containerPath: "/dev/sgx_enclave", hostPath: "/dev/sgx_enclave", role: "enclave" },
  { containerPath: "/dev/sgx_provision", hostPath: "/dev/sgx_provision", role: "provision" },
];
const rm = (epcMiB: number, nodes = NODES) => new SgxResourceManager({ resourceName: "example.com/epc", devices: epcMiB, provision: "when-present", nodes, epcEnv: true });

test("192 GiB: allocating every device counts them all; duplicates count once", () => {
  const m = rm(196608);
  const all = Array.from({ length: 196608 }, (_, i) => deviceId(i));
  assert.deepEqual(m.allocate(all).envs, { SGX_EPC_MIB: "196608" });
  assert.deepEqual(m.allocate(["5", "5", "6"]).envs, { SGX_EPC_MIB: "2" });
});

test("health follows the enclave node only, and listeners hear each change once", () => {
  const m = rm(4, [NODES[1]!]);
  assert.equal(m.healthy, false);
  const heard: string[] = [];
  m.onHealthChange((h) => heard.push(h));
  m.setNodes(NODES);
  m.setNodes(NODES);
  m.setNodes([]);
  assert.deepEqual(heard, ["Healthy", "Unhealthy"]);
  assert.throws(() => m.allocate(["0"]), AllocationRejected);
});

test("preferred allocation at 192 GiB: must-include first, then the lowest contiguous run", () => {
  const m = rm(196608);
  const available = Array.from({ length: 196608 }, (_, i) => deviceId(i)).filter((_, i) => i % 1000 !== 999 || i > 5000);
  const got = m.preferredAllocation(available, ["zz"], 1500);
  assert.equal(got[0], "zz");
  assert.equal(got.length, 1500);
  const idx = got.slice(1).map((id) => parseDeviceId(id, 196608));
  // the first free run of 1499 starts right after the last hole at 4999
  assert.equal(idx[0], 5000);
  assert.ok(idx.every((v, i) => i === 0 || v === idx[i - 1]! + 1));
});

test("preferred allocation: always the requested size when enough are available, no duplicates, all from available or must-include", () => {
  const count = 300;
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 0, max: count - 1 }), { minLength: 1, maxLength: count }),
      fc.nat({ max: 5 }),
      fc.nat({ max: 40 }),
      (avail, mustN, extra) => {
        const available = avail.map(deviceId);
        const must = available.slice(0, Math.min(mustN, available.length));
        const size = Math.min(available.length, must.length + extra);
        const got = new SgxResourceManager({ resourceName: "e.com/x", devices: count, provision: "none", nodes: NODES }).preferredAllocation(available, must, size);
        assert.equal(got.length, Math.max(size, must.length));
        assert.deepEqual(got.slice(0, must.length), must);
        assert.equal(new Set(got).size, got.length);
        assert.ok(got.every((id) => available.includes(id)));
      },
    ),
    { numRuns: 200 },
  );
});

test("a prepared snapshot is what the next ListAndWatch gets, once, and only while the health it was made for holds", () => {
  const m = rm(1000);
  const fresh = m.snapshot();
  assert.deepEqual(m.snapshot(), fresh);
  assert.notEqual(m.snapshot(), m.snapshot(), "not kept between calls (idle RSS)");
  m.prepareSnapshot();
  const first = m.snapshot();
  assert.deepEqual(first, fresh);
  assert.notEqual(m.snapshot(), first, "taken by the call that used it");
  m.prepareSnapshot();
  m.setNodes([]); // the enclave node went: the prepared Healthy snapshot is stale
  const unhealthy = m.snapshot();
  assert.equal(m.currentHealth, "Unhealthy");
  assert.match(unhealthy.toString("latin1"), /Unhealthy/);
  assert.doesNotMatch(unhealthy.toString("latin1"), /\x07Healthy/);
});
