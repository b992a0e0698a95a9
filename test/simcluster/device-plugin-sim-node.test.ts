// The device plugin as `addon enable --simulate` runs it on a real node: the host's /dev/null as the SGX
// device nodes, this node's simulated platform written under the state root and mounted read-only into
// every allocation with CONFCOM_SIM_STATE, readable by a non-root container user. Against the kubelet peer.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { DevicePluginDaemon } from "../../src/deviceplugin/daemon.js";
import { SIM_STATE_CONTAINER_PATH } from "../../src/deviceplugin/sim-node-paths.js";
import { STATE_FILES } from "../../src/sim/platform/state-files.js";
import { allServed, ENCLAVE, makeRig, RESOURCE, startPlugin, type Rig } from "../deviceplugin/helpers.js";

const SEED = "plugin-cluster-seed";
const isRoot = process.geteuid?.() === 0;

describe("device plugin on a simulated cluster node", () => {
  let rig: Rig;
  let daemon: DevicePluginDaemon;
  let stateRoot: string;
  before(async () => {
    rig = await makeRig();
    chmodSync(rig.dir, 0o755); // as the host's /var/lib/confcom/sim is: traversable by container users
    stateRoot = path.join(rig.dir, "var-lib-confcom-sim");
    daemon = await startPlugin(rig, {
      epcMiB: undefined,
      simEpcMiB: 256,
      devRoot: undefined,
      simHostDevices: true,
      nodeName: "node-a",
      nodeLabels: false,
      // Renewed every 400 ms here (daily in production), so the test sees a renewal land.
      simNode: { seed: SEED, stateRoot, refreshMs: 400 },
    });
    await rig.kubelet.waitFor(allServed(256), 10_000, "all three resources served");
  });
  after(async () => {
    await daemon?.stop();
    await rig?.cleanup();
  });

  for (const resource of [RESOURCE, ENCLAVE]) {
    test(`${resource}: devices are the host's /dev/null, the platform is mounted read-only, CONFCOM_SIM_STATE names it`, async () => {
      const { response, deviceIds } = await rig.kubelet.admitContainer(resource, resource === RESOURCE ? 10 : 1);
      try {
        assert.ok(response.devices.length >= 1);
        for (const d of response.devices) {
          assert.ok(statSync(d.hostPath).isCharacterDevice(), `${d.hostPath} exists on the host as a character device`);
          assert.equal(d.hostPath, "/dev/null");
        }
        assert.ok(response.devices.some((d) => d.containerPath === "/dev/sgx_enclave"));
        assert.deepEqual(
          response.mounts.map((m) => ({ containerPath: m.containerPath, hostPath: m.hostPath, readOnly: m.readOnly })),
          [{ containerPath: SIM_STATE_CONTAINER_PATH, hostPath: path.join(stateRoot, "node-a"), readOnly: true }],
        );
        assert.equal(response.envs.CONFCOM_SIM_STATE, SIM_STATE_CONTAINER_PATH);
        if (resource === RESOURCE) assert.equal(response.envs.SGX_EPC_MIB, "10");
      } finally {
        rig.kubelet.release(resource, deviceIds);
      }
    });
  }

  test("the mounted platform holds the root CA and a current collateral file, readable by uid 65532", { skip: !isRoot && "needs root to switch uid" }, () => {
    const dir = path.join(stateRoot, "node-a");
    const collateral = JSON.parse(readFileSync(path.join(dir, STATE_FILES.collateral), "utf8")) as { tcb_info: string };
    const nextUpdate = Date.parse((JSON.parse(collateral.tcb_info) as { nextUpdate: string }).nextUpdate);
    assert.ok(nextUpdate > Date.now() + 20 * 86_400_000, "collateral valid for weeks");
    assert.equal(JSON.parse(readFileSync(path.join(dir, STATE_FILES.platform), "utf8")).nodeName, "node-a");
    const files = Object.values(STATE_FILES).map((f) => path.join(dir, f));
    const r = spawnSync(process.execPath, ["-e", `for (const f of ${JSON.stringify(files)}) require("fs").readFileSync(f)`], { uid: 65532, gid: 65532, encoding: "utf8", timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
  });

  test("the node's collateral file is renewed in place: CRLs reissued, the TCB Info window moved", async () => {
    const file = path.join(stateRoot, "node-a", STATE_FILES.collateral);
    const read = () => JSON.parse(readFileSync(file, "utf8")) as { pck_crl: string; tcb_info: string };
    const first = read();
    const deadline = Date.now() + 10_000;
    let now = read();
    // Times in CRLs and TCB Info have one-second resolution.
    while (now.pck_crl === first.pck_crl || now.tcb_info === first.tcb_info) {
      assert.ok(Date.now() < deadline, "collateral.json was not renewed within 10 s");
      await new Promise((r) => setTimeout(r, 200));
      now = read();
    }
    const issued = (c: { tcb_info: string }) => Date.parse((JSON.parse(c.tcb_info) as { issueDate: string }).issueDate);
    assert.ok(issued(now) > issued(first));
  });
});
