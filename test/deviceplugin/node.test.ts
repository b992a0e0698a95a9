// The plugin and its Node: labels through the fake API server over HTTPS (also when it is down at
// first), the NFD feature file, and node-status mode with a 1 TiB EPC against the kubelet peer.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { NodeStatusModeError, type DevicePluginDaemon } from "../../src/deviceplugin/daemon.js";
import { NFD_FEATURE_FILE, NFD_FEATURES_DIR } from "../../src/deviceplugin/nfd-feature-file.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { allServed, ENCLAVE, ENCLAVE_DEVICES, httpGet, makeRig, PROVISION, RESOURCE, startPlugin, type Rig } from "./helpers.js";

const NODE = "sgx-node-1";
const TIB_MIB = 1024 * 1024;
const fastRetry = { backoffInitialMs: 50, backoffMaxMs: 200 };

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const patches = (fake: FakeApiServer) => fake.requests.filter((r) => r.method === "PATCH");
const labelsOf = (fake: FakeApiServer) => fake.find("Node", NODE)?.metadata.labels ?? {};

describe("node labels through the API", () => {
  let rig: Rig;
  let fake: FakeApiServer;
  before(async () => {
    rig = await makeRig();
    fake = await FakeApiServer.start();
  });
  after(async () => {
    await fake.close();
    await rig.cleanup();
  });

  test("after discovery the plugin labels its node; device mode leaves the node status alone", async () => {
    fake.addNode(NODE, { "node.kubernetes.io/instance-type": "Standard_DC4s_v3" });
    const daemon = await startPlugin(rig, { epcMiB: 64, nodeName: NODE, kubeconfig: fake.kubeconfigPath, publisher: fastRetry });
    try {
      await until(() => daemon.publisher?.published === true, "labels published");
      assert.deepEqual(labelsOf(fake), {
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "Standard_DC4s_v3",
        "sgx.intel.com/capable": "true",
        "confcom.io/sgx-epc-mib": "64",
      });
      assert.deepEqual(
        patches(fake).map((r) => [r.path, r.contentType]),
        [[`/api/v1/nodes/${NODE}`, "application/merge-patch+json"]],
      );
      assert.equal(fake.find("Node", NODE)!.status.capacity[RESOURCE], undefined, "device mode: the kubelet reports the EPC");
      await rig.kubelet.waitFor(allServed(64), 20_000, "both resources");
    } finally {
      await daemon.stop();
      fake.objects.clear();
      fake.requests.length = 0;
    }
  });

  test("API down at first: the kubelet is served at once, the labels follow when the API is back", async () => {
    fake.addNode(NODE, {});
    await fake.refuse();
    const daemon = await startPlugin(rig, { epcMiB: 32, nodeName: NODE, kubeconfig: fake.kubeconfigPath, publisher: fastRetry });
    try {
      await rig.kubelet.waitFor(allServed(32), 20_000, "served while the API is down");
      assert.equal((await httpGet(daemon.ops.address().port, "/readyz")).status, 200, "labels are not part of readiness in device mode");
      await new Promise((r) => setTimeout(r, 400)); // several refused attempts
      assert.equal(daemon.publisher!.published, false);
      assert.equal(fake.requests.length, 0);
      await fake.accept();
      await until(() => daemon.publisher!.published, "labels after the API came back");
      assert.equal(labelsOf(fake)["sgx.intel.com/capable"], "true");
      assert.equal(labelsOf(fake)["confcom.io/sgx-epc-mib"], "32");
    } finally {
      await daemon.stop();
      fake.objects.clear();
      fake.requests.length = 0;
    }
  });

  test("no SGX on the node: nothing patched, no NFD file", async () => {
    fake.addNode(NODE, {});
    const host = path.join(rig.dir, "host-without-sgx");
    await fs.mkdir(path.join(host, NFD_FEATURES_DIR), { recursive: true });
    const daemon = await startPlugin(rig, { epcMiB: undefined, simulate: false, hostRoot: host, devRoot: host, nodeName: NODE, kubeconfig: fake.kubeconfigPath, publisher: fastRetry });
    try {
      assert.match(daemon.idleReason ?? "", /^no SGX EPC on this node/);
      assert.equal(daemon.publisher, null);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(fake.requests.length, 0);
      assert.deepEqual(await fs.readdir(path.join(host, NFD_FEATURES_DIR)), []);
    } finally {
      await daemon.stop();
      fake.objects.clear();
    }
  });
});

describe("NFD feature file", () => {
  let rig: Rig;
  before(async () => (rig = await makeRig({ startKubelet: false })));
  after(() => rig.cleanup());

  test("written atomically into an existing features.d, with the labels as name=value lines", async () => {
    const host = path.join(rig.dir, "host-with-nfd");
    const dir = path.join(host, NFD_FEATURES_DIR);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, NFD_FEATURE_FILE), "stale=1\n");
    const daemon = await startPlugin(rig, { epcMiB: 96, hostRoot: host });
    try {
      assert.equal(daemon.nfdFile, path.join(dir, NFD_FEATURE_FILE));
      assert.equal(await fs.readFile(daemon.nfdFile!, "utf8"), "sgx.intel.com/capable=true\nconfcom.io/sgx-epc-mib=96\n");
      assert.deepEqual(await fs.readdir(dir), [NFD_FEATURE_FILE], "no temp file left behind");
      assert.equal(daemon.publisher, null, "no node name: no API labels");
    } finally {
      await daemon.stop();
    }
  });

  test("no features.d (no NFD): nothing written, nothing created; --no-node-labels: not even with NFD", async () => {
    const bare = path.join(rig.dir, "host-bare");
    await fs.mkdir(bare);
    const withNfd = path.join(rig.dir, "host-nfd-but-off");
    await fs.mkdir(path.join(withNfd, NFD_FEATURES_DIR), { recursive: true });
    for (const [hostRoot, nodeLabels] of [[bare, undefined], [withNfd, false]] as const) {
      const daemon = await startPlugin(rig, { epcMiB: 96, hostRoot, nodeLabels, socketName: "nfd.sock", enclaveSocketName: "nfd-enclave.sock", provisionSocketName: "nfd-provision.sock" });
      await daemon.stop();
      assert.equal(daemon.nfdFile, null);
    }
    assert.deepEqual(await fs.readdir(bare), []);
    assert.deepEqual(await fs.readdir(path.join(withNfd, NFD_FEATURES_DIR)), []);
  });
});

describe("node-status mode: a 1 TiB EPC", () => {
  let rig: Rig;
  let fake: FakeApiServer;
  let daemon: DevicePluginDaemon;
  before(async () => {
    rig = await makeRig();
    fake = await FakeApiServer.start();
    fake.addNode(NODE, {});
    daemon = await startPlugin(rig, { epcMiB: TIB_MIB, nodeName: NODE, kubeconfig: fake.kubeconfigPath, publisher: fastRetry });
    await until(() => daemon.publisher?.published === true, "capacity published");
    await rig.kubelet.waitFor((k) => k.allocatable(ENCLAVE) === ENCLAVE_DEVICES && k.allocatable(PROVISION) === ENCLAVE_DEVICES, 20_000, "enclave and provision resources");
  });
  after(async () => {
    await daemon.stop();
    await fake.close();
    await rig.cleanup();
  });

  test("auto picks node-status: capacity 1048576 on the node status by JSON patch, labels too", () => {
    assert.equal(daemon.mode, "node-status");
    const node = fake.find("Node", NODE)!;
    assert.equal(node.status.capacity[RESOURCE], String(TIB_MIB));
    assert.equal(node.status.capacity.cpu, "4", "the rest of the status is untouched");
    assert.equal(node.metadata.labels["confcom.io/sgx-epc-mib"], String(TIB_MIB));
    const statusPatch = patches(fake).find((r) => r.path.endsWith("/status"))!;
    assert.deepEqual([statusPatch.path, statusPatch.contentType], [`/api/v1/nodes/${NODE}/status`, "application/json-patch+json"]);
  });

  test("the EPC resource's ListAndWatch is not used: no registration, no socket", async () => {
    assert.equal(rig.kubelet.registrationCount(RESOURCE), 0);
    assert.equal(daemon.rm, null);
    const sockets = (await fs.readdir(rig.socketDir)).filter((f) => f.endsWith(".sock")).sort();
    assert.deepEqual(sockets, ["kubelet.sock", "sgx-enclave.sock", "sgx-provision.sock"]);
    assert.equal((await httpGet(daemon.ops.address().port, "/readyz")).status, 200);
  });

  test("sgx_enclave hands the enclave node only, sgx_provision both; no SGX_EPC_MIB", async () => {
    const enclave = await rig.kubelet.admitContainer(ENCLAVE, 1);
    const provision = await rig.kubelet.admitContainer(PROVISION, 1);
    try {
      assert.equal(enclave.deviceIds.length, 1);
      assert.deepEqual(enclave.response.envs, {});
      assert.deepEqual(enclave.response.devices.map((d) => [d.containerPath, d.hostPath, d.permissions]), [["/dev/sgx_enclave", path.join(rig.devRoot, "dev/sgx_enclave"), "rw"]]);
      assert.deepEqual(provision.response.envs, {});
      assert.deepEqual(
        provision.response.devices.map((d) => [d.containerPath, d.hostPath, d.permissions]),
        [
          ["/dev/sgx_enclave", path.join(rig.devRoot, "dev/sgx_enclave"), "rw"],
          ["/dev/sgx_provision", path.join(rig.devRoot, "dev/sgx_provision"), "rw"],
        ],
      );
    } finally {
      rig.kubelet.release(ENCLAVE, enclave.deviceIds);
      rig.kubelet.release(PROVISION, provision.deviceIds);
    }
  });

  test("a kubelet restart that zeroed the capacity: patched again", async () => {
    fake.find("Node", NODE)!.status.capacity[RESOURCE] = "0"; // as a kubelet on a re-created node does
    const before = rig.kubelet.registrationCount(ENCLAVE);
    await rig.kubelet.restart();
    await rig.kubelet.waitFor((k) => k.registrationCount(ENCLAVE) > before, 10_000, "re-registration");
    await until(() => fake.find("Node", NODE)!.status.capacity[RESOURCE] === String(TIB_MIB), "capacity re-published");
  });

  test("node-status mode without the node name or an API is refused", async () => {
    await assert.rejects(startPlugin(rig, { epcMiB: TIB_MIB, socketName: "x.sock", enclaveSocketName: "x-enclave.sock", provisionSocketName: "x-provision.sock" }), (err: Error) => {
      assert.ok(err instanceof NodeStatusModeError);
      assert.match(err.message, /over device mode's limit of 223278 MiB, so it is published on the node status, which needs the node's name/);
      return true;
    });
    await assert.rejects(startPlugin(rig, { epcMiB: 64, epcMode: "node-status", nodeName: NODE, socketName: "x.sock", enclaveSocketName: "x-enclave.sock", provisionSocketName: "x-provision.sock" }), NodeStatusModeError);
  });
});
