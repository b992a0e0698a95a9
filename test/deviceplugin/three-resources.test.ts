// The three resources (EPC, sgx_enclave, sgx_provision) of the real plugin against the kubelet peer as the
// kubelet's device manager runs them: pods admitted with each, the merged device lists, the checkpoint
// keeping allocations across kubelet restarts (never handed out twice), and every resource re-registered.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { DevicePluginDaemon } from "../../src/deviceplugin/daemon.js";
import { SimulatedKubelet } from "../../src/kubelet/simulated-kubelet.js";
import { allServed, ENCLAVE, ENCLAVE_DEVICES, httpGet, makeRig, PROVISION, RESOURCE, startPlugin, type Rig } from "./helpers.js";

const EPC = 32;
const paths = (r: { devices: Array<{ containerPath: string }> }) => r.devices.map((d) => d.containerPath);

describe("EPC, enclave and provision resources with the kubelet's device manager", () => {
  let rig: Rig;
  let daemon: DevicePluginDaemon;
  before(async () => {
    rig = await makeRig();
    daemon = await startPlugin(rig, { epcMiB: EPC, provisionDevices: 4 });
    await rig.kubelet.waitFor(allServed(EPC, 4), 20_000, "three resources");
  });
  after(async () => {
    await daemon.stop();
    await rig.cleanup();
  });

  test("all three registered; an out-of-proc app gets the enclave node only, a quoting container the provision node too", async () => {
    assert.deepEqual(rig.kubelet.resourceNames(), [ENCLAVE, RESOURCE, PROVISION].sort());
    const [app, quoter] = await rig.kubelet.admitPod("pod-a", [
      { name: "app", resources: { [RESOURCE]: 10, [ENCLAVE]: 1 } },
      { name: "quoter", resources: { [RESOURCE]: 4, [PROVISION]: 1 } },
    ]);
    assert.deepEqual(paths(app!.response), ["/dev/sgx_enclave"]);
    assert.deepEqual(app!.response.envs, { SGX_EPC_MIB: "10" });
    assert.deepEqual(paths(quoter!.response), ["/dev/sgx_enclave", "/dev/sgx_provision"]);
    assert.deepEqual(quoter!.response.envs, { SGX_EPC_MIB: "4" });
    assert.equal(quoter!.response.devices[1]!.hostPath, path.join(rig.devRoot, "dev/sgx_provision"));
    rig.kubelet.removePod("pod-a");
  });

  test("one sgx_provision device per container: the fifth of four is refused by the kubelet", async () => {
    const pods = await Promise.all([1, 2, 3, 4].map((i) => rig.kubelet.admitPod(`q-${i}`, [{ name: "c", resources: { [PROVISION]: 1 } }])));
    assert.equal(new Set(pods.map((p) => p[0]!.deviceIds[PROVISION]![0])).size, 4);
    await assert.rejects(rig.kubelet.admitPod("q-5", [{ name: "c", resources: { [PROVISION]: 1 } }]), /Requested: 1, Available: 0/);
    for (const i of [1, 2, 3, 4]) rig.kubelet.removePod(`q-${i}`);
  });

  test("kubelet restarts: every resource re-registers; allocated devices stay allocated and a restarted container replays its response", async () => {
    const [held] = await rig.kubelet.admitPod("long-lived", [{ name: "app", resources: { [RESOURCE]: 20, [ENCLAVE]: 1, [PROVISION]: 1 } }]);
    const before = Object.fromEntries([RESOURCE, ENCLAVE, PROVISION].map((r) => [r, rig.kubelet.registrationCount(r)]));
    await rig.kubelet.restart();
    await rig.kubelet.waitFor((k) => Object.entries(before).every(([r, n]) => k.registrationCount(r) === n + 1) && allServed(EPC, 4)(k), 10_000, "re-registration of all three");

    // A second kubelet process on the same directory knows only the checkpoint: the same allocations.
    await rig.kubelet.stop();
    const fresh = new SimulatedKubelet({ socketDir: rig.socketDir });
    await fresh.start();
    try {
      await fresh.waitFor(allServed(EPC, 4), 10_000, "registration with the new kubelet process");
      assert.deepEqual(fresh.allocatedDeviceIds(RESOURCE), [...held!.deviceIds[RESOURCE]!].sort());
      const allocationsBefore = (await httpGet(daemon.ops.address().port, "/metrics")).body;
      // The container restarts: its checkpointed response, no Allocate.
      const again = await fresh.admitContainer(RESOURCE, 20, { podUID: "long-lived", containerName: "app" });
      assert.equal(again.replayed, true);
      assert.deepEqual(again.deviceIds, held!.deviceIds[RESOURCE]);
      assert.deepEqual(again.response.envs, { SGX_EPC_MIB: "20" });
      assert.equal((await httpGet(daemon.ops.address().port, "/metrics")).body.match(/allocations_total\{[^}]*result="ok"\} \d+/g)!.join(), allocationsBefore.match(/allocations_total\{[^}]*result="ok"\} \d+/g)!.join());
      // The other 12 MiB are all that is left: none of the held devices is handed out twice.
      const [other] = await fresh.admitPod("newcomer", [{ name: "app", resources: { [RESOURCE]: EPC - 20, [PROVISION]: 1 } }]);
      assert.deepEqual(other!.deviceIds[RESOURCE]!.filter((id) => held!.deviceIds[RESOURCE]!.includes(id)), []);
      assert.notEqual(other!.deviceIds[PROVISION]![0], held!.deviceIds[PROVISION]![0]);
      await assert.rejects(fresh.admitContainer(RESOURCE, 1), /Requested: 1, Available: 0/);
      fresh.removePod("newcomer");
      fresh.removePod("long-lived");
      assert.equal((await fresh.admitContainer(RESOURCE, EPC)).deviceIds.length, EPC);
    } finally {
      await fresh.stop();
      await rig.kubelet.start(); // for the rig's cleanup
    }
  });
});
