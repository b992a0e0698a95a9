// The plugin against grpc-go, the kubelet's own gRPC library (test/peers/kubelet-go): Register with the
// blocking dial-back and options, ListAndWatch decoded by grpc-go within its 4 MiB default, Allocate, a
// kubelet restart, and the pre-1.26 dial that sends the socket path as :authority, which only the
// authority front makes work (the control: a bare grpc-js plugin is refused by the same peer).
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { FakePlugin, register } from "../kubelet/fake-plugin.js";
import { GoKubelet, needsGoKubelet } from "../support/go-kubelet.js";
import { ENCLAVE, ENCLAVE_DEVICES, httpGet, makeRig, PROVISION, RESOURCE, startPlugin, type Rig } from "./helpers.js";

const EPC_MIB = 16384;
const RESOURCES = [RESOURCE, ENCLAVE, PROVISION];
const allHealthy = (k: GoKubelet) => k.healthy.get(RESOURCE) === EPC_MIB && k.healthy.get(ENCLAVE) === ENCLAVE_DEVICES && k.healthy.get(PROVISION) === ENCLAVE_DEVICES;

describe("against a grpc-go kubelet peer", { skip: needsGoKubelet.skip }, () => {
  let rig: Rig;
  before(async () => {
    rig = await makeRig({ startKubelet: false });
  });
  after(async () => rig.cleanup());

  for (const legacyAuthority of [false, true]) {
    const dial = legacyAuthority ? "the socket path as :authority (kubelets before 1.26)" : ':authority "localhost" (kubelets since 1.26)';
    test(`${dial}: registers all three resources, streams ${EPC_MIB} EPC devices, allocates, and registers again after a kubelet restart`, async () => {
      const kubelet = await GoKubelet.launch(rig.socketDir, { legacyAuthority });
      const daemon = await startPlugin(rig, { epcMiB: EPC_MIB });
      try {
        await kubelet.waitFor(allHealthy, 30_000, "every device of the three resources healthy in grpc-go's ListAndWatch");
        assert.deepEqual(kubelet.errors, []);
        const allocated = await kubelet.allocate(RESOURCE, ["0", "1", "2"]);
        assert.equal(allocated.envs?.SGX_EPC_MIB, "3");
        assert.ok((allocated.devices as string[]).includes("/dev/sgx_enclave"), JSON.stringify(allocated));

        await kubelet.stop();
        await kubelet.start();
        await kubelet.waitFor((k) => RESOURCES.every((r) => k.registrations.get(r) === 2) && allHealthy(k), 30_000, "every resource registered again after the restart");
        assert.deepEqual(kubelet.errors, []);

        const metrics = (await httpGet(daemon.ops.address().port, "/metrics")).body;
        const rewritten = Number(/confcom_device_plugin_old_kubelet_connections_total (\d+)/.exec(metrics)?.[1] ?? 0);
        // Each Register's dial-back is one connection: six in all, rewritten only for the old dial.
        if (legacyAuthority) assert.ok(rewritten >= 6, `every connection of the old dial rewritten: ${rewritten}`);
        else assert.equal(rewritten, 0);
      } finally {
        await daemon.stop();
        await kubelet.close();
      }
    });
  }

  test("the control: a bare grpc-js plugin is refused by the pre-1.26 dial (PROTOCOL_ERROR), as kubernetes#112597 reported", async () => {
    const kubelet = await GoKubelet.launch(rig.socketDir, { legacyAuthority: true });
    const plugin = new FakePlugin(path.join(rig.socketDir, "bare.sock"), [{ ID: "a", health: "Healthy" }]);
    await plugin.start();
    try {
      await assert.rejects(register(path.join(rig.socketDir, "kubelet.sock"), { endpoint: plugin.endpoint, resourceName: "example.com/bare" }), /PROTOCOL_ERROR/);
      assert.equal(kubelet.registrations.get("example.com/bare"), undefined);
      assert.match(kubelet.errors.join("\n"), /^options: .*PROTOCOL_ERROR/m);
    } finally {
      plugin.stop();
      await kubelet.close();
    }
  });
});
