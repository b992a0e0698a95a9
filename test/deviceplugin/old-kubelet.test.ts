// Kubelets before 1.26 send the plugin's socket path as HTTP/2 :authority. The kubelet peer does the same
// when asked (legacyAuthority), which a bare grpc-js server refuses as the real kubelet saw; our plugin
// registers, streams and allocates with it through its authority front.
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { DevicePluginDaemon } from "../../src/deviceplugin/daemon.js";
import { FakePlugin, register } from "../kubelet/fake-plugin.js";
import { allServed, ENCLAVE, httpGet, makeRig, RESOURCE, startPlugin, type Rig } from "./helpers.js";

describe("a kubelet before 1.26 (socket path as :authority)", () => {
  let rig: Rig;
  before(async () => {
    rig = await makeRig({ legacyAuthority: true });
  });
  after(async () => rig.cleanup());

  test("a bare grpc-js plugin cannot register with it: the stream is reset with PROTOCOL_ERROR", async () => {
    const plugin = new FakePlugin(path.join(rig.socketDir, "bare.sock"), [{ ID: "a", health: "Healthy" }]);
    await plugin.start();
    try {
      await assert.rejects(register(rig.kubelet.socketPath, { endpoint: plugin.endpoint, resourceName: "example.com/bare" }), /RST_STREAM with code 1\b/ /* 1 = PROTOCOL_ERROR */);
      assert.equal(rig.kubelet.registrationCount("example.com/bare"), 0);
    } finally {
      plugin.stop();
    }
  });

  test("our plugin registers all three resources, streams its devices and allocates", async () => {
    const daemon: DevicePluginDaemon = await startPlugin(rig, { epcMiB: 32, metricsAddr: "127.0.0.1:0" });
    try {
      await rig.kubelet.waitFor(allServed(32), 20_000, "all three resources served to the old kubelet");
      const res = await rig.kubelet.allocate(RESOURCE, ["0", "1"]);
      assert.equal(res.envs.SGX_EPC_MIB, "2");
      assert.ok(res.devices.some((d) => d.containerPath === "/dev/sgx_enclave"));
      const enclave = await rig.kubelet.allocate(ENCLAVE, [rig.kubelet.devices(ENCLAVE)[0]!.ID]);
      assert.ok(enclave.devices.length > 0);
      const metrics = await httpGet(daemon.ops.address().port, "/metrics");
      const served = /confcom_device_plugin_old_kubelet_connections_total (\d+)/.exec(metrics.body);
      assert.ok(served && Number(served[1]) >= 2, `one rewritten connection per resource at least:\n${served?.[0]}`);
    } finally {
      await daemon.stop();
    }
  });
});
