// Issue 10 item 2: the DaemonSet mounts the host's /dev read-only at /host/dev (no CharDevice type check)
// and runs `--dev-root=/host --host-dev-paths`: nodes are found there, including the out-of-tree driver's,
// and handed to the kubelet by their host paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { ENCLAVE, makeRig, startPlugin } from "../deviceplugin/helpers.js";

test("--host-dev-paths: devices found under the dev root are handed by their host paths, out-of-tree nodes too", async () => {
  const rig = await makeRig();
  try {
    // An out-of-tree driver host: /dev/sgx/enclave and /dev/sgx/provision, no /dev/sgx_enclave.
    for (const n of ["sgx_enclave", "sgx_provision"]) rmSync(path.join(rig.devRoot, "dev", n));
    mkdirSync(path.join(rig.devRoot, "dev/sgx"));
    for (const n of ["enclave", "provision"]) symlinkSync("/dev/null", path.join(rig.devRoot, "dev/sgx", n));
    const daemon = await startPlugin(rig, { hostDevPaths: true, nodeLabels: false });
    try {
      await rig.kubelet.waitFor((k) => k.allocatable(ENCLAVE) > 0, 10_000, "enclave resource served");
      const { response } = await rig.kubelet.admitContainer(ENCLAVE, 1);
      const paths = response.devices.map((d) => [d.containerPath, d.hostPath]);
      assert.ok(paths.length > 0);
      assert.ok(paths.some(([c]) => c === "/dev/sgx/enclave"), JSON.stringify(paths));
      for (const [c, h] of paths) assert.equal(h, c, "the host's own path, not where the plugin sees it");
    } finally {
      await daemon.stop();
    }
  } finally {
    await rig.cleanup();
  }
});
