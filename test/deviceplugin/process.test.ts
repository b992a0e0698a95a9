// `confcom device-plugin` as a real child process (`confcom demo` is tested in test/demo).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { maxDevices } from "../../src/deviceplugin/device-ids.js";
import { ABANDONED_EMPTY_STAGING_MS } from "../../src/deviceplugin/socket-file.js";
import { cliEntry } from "../support/paths.js";
import { allServed, httpGet, makeRig, opsPort, RESOURCE, spawnCli, type Child, type Rig } from "./helpers.js";
import { within } from "../support/timeout.js";

test("SIGTERM: streams end, socket removed, exit 0", async () => {
  const rig = await makeRig();
  const child = spawnCli(["device-plugin", "--simulate", "--sim-epc-mib", "128", "--socket-dir", rig.socketDir, "--metrics-addr", "127.0.0.1:0"]);
  try {
    await untilServed(child, rig, 128, "registration of the child");
    const port = await opsPort(child);
    assert.equal((await httpGet(port, "/readyz")).status, 200);
    const socket = path.join(rig.socketDir, "sgx-epc.sock");
    await fs.stat(socket);
    child.proc.kill("SIGTERM");
    const { code, signal } = await within(child.exited, 30_000, "the device plugin to exit");
    assert.equal(signal, null);
    assert.equal(code, 0, child.stderr());
    await assert.rejects(fs.stat(socket), /ENOENT/);
    assert.deepEqual(await staged(rig.socketDir), [], "the spare servers' private directories are gone too");
    await rig.kubelet.waitFor((k) => !k.connected(RESOURCE), 10_000, "stream closed by the plugin");
    assert.match(child.stderr(), /"msg":"stopped cleanly"/);
    // the simulated dev root it made for itself is gone too
    const made = child.stderr().match(/"devRoot":"([^"]+confcom-sim-dev-[^"]+)"/);
    assert.ok(made, "log names the simulated dev root");
    await assert.rejects(fs.stat(made[1]!), /ENOENT/);
  } finally {
    child.proc.kill("SIGKILL");
    await rig.cleanup();
  }
});

/** Every resource served with `epcMiB` EPC devices, failing at once (with its log) if the plugin exits first. */
const untilServed = (child: Child, rig: Rig, epcMiB: number, what: string) => child.running(rig.kubelet.waitFor(allServed(epcMiB), 20_000, what), what);

/** The private staging directories (spare servers) in the kubelet's directory. */
async function staged(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => n.startsWith(".confcom-")).sort();
}

/** The staging directories that hold their bound socket (a spare is made by mkdir, then bind). */
async function boundSpares(dir: string): Promise<string[]> {
  const bound: string[] = [];
  for (const name of await staged(dir)) {
    const inside = await fs.readdir(path.join(dir, name)).catch(() => []);
    if (inside.length === 1) bound.push(name);
  }
  return bound;
}

test("SIGKILL leaves the spare sockets behind; the next start removes them and keeps its own", async () => {
  const rig = await makeRig();
  const args = ["device-plugin", "--simulate", "--sim-epc-mib", "16", "--socket-dir", rig.socketDir, "--metrics-addr", "127.0.0.1:0"];
  let child = spawnCli(args);
  try {
    await untilServed(child, rig, 16, "registration of the first child");
    // One spare per resource, staged once the kubelet's stream has its snapshot; bound, not just made.
    const deadline = Date.now() + 10_000;
    while ((await boundSpares(rig.socketDir)).length < 3) {
      assert.ok(Date.now() < deadline, `spares staged: ${(await staged(rig.socketDir)).join(", ")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const left = await boundSpares(rig.socketDir);
    child.proc.kill("SIGKILL");
    await within(child.exited, 30_000, "the killed plugin to exit");
    assert.deepEqual(await boundSpares(rig.socketDir), left, "a crash cannot clean up");
    // Killed between a spare's mkdir and its bind: empty, and older than any staging in progress.
    const abandoned = path.join(rig.socketDir, ".confcom-abandoned");
    await fs.mkdir(abandoned, { mode: 0o700 });
    const longAgo = new Date(Date.now() - 2 * ABANDONED_EMPTY_STAGING_MS);
    await fs.utimes(abandoned, longAgo, longAgo);
    left.push(".confcom-abandoned");
    // Something of ours that is not a dead spare stays: an empty one (being made) and a regular file.
    await fs.mkdir(path.join(rig.socketDir, ".confcom-empty"), { mode: 0o700 });
    await fs.mkdir(path.join(rig.socketDir, ".confcom-file"), { mode: 0o700 });
    await fs.writeFile(path.join(rig.socketDir, ".confcom-file", "not-a-socket"), "x");
    child = spawnCli(args);
    await child.waitForLog((l) => l.msg === "removed spare plugin sockets a previous run left behind");
    await rig.kubelet.restart();
    await untilServed(child, rig, 16, "registration of the second child");
    const now = await staged(rig.socketDir);
    for (const d of left) assert.ok(!now.includes(d), `${d} of the killed plugin is still there (left ${left.join(", ")}; now ${now.join(", ")})`);
    assert.ok(now.includes(".confcom-empty") && now.includes(".confcom-file"), now.join(", "));
  } catch (err) {
    // The plugin's log is the evidence when this fails (rarely, on a loaded machine).
    (err as Error).message += `\nthe plugin's log:\n${child.stderr()}`;
    throw err;
  } finally {
    child.proc.kill("SIGKILL");
    await rig.cleanup();
  }
});

test("no SGX on the node: one clear log line, /readyz 503, stays up, no socket", async () => {
  const rig = await makeRig();
  const emptyHost = path.join(rig.dir, "empty-host");
  await fs.mkdir(emptyHost);
  const child = spawnCli(["device-plugin", "--host-root", emptyHost, "--dev-root", emptyHost, "--socket-dir", rig.socketDir, "--metrics-addr", "127.0.0.1:0"]);
  try {
    const port = await opsPort(child);
    const line = await child.waitForLog((l) => l.level === "error");
    assert.match(String(line.msg), /^no SGX EPC on this node \(.*sysfs.*\); not advertising kubernetes\.azure\.com\/sgx_epc_mem_in_MiB$/);
    const ready = await httpGet(port, "/readyz");
    assert.equal(ready.status, 503);
    assert.match(ready.body, /no SGX EPC on this node/);
    assert.equal((await httpGet(port, "/healthz")).status, 200);
    assert.match((await httpGet(port, "/metrics")).body, /^confcom_device_plugin_registered 0$/m);
    // still up a while later, with nothing registered and no socket of ours
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(child.proc.exitCode, null);
    assert.deepEqual((await fs.readdir(rig.socketDir)).sort(), ["kubelet.sock"]);
    assert.equal(rig.kubelet.registrationCount(RESOURCE), 0);
    const errors = child.stderr().split("\n").filter((l) => l.includes('"level":"error"') || l.includes('"level":"warn"'));
    assert.equal(errors.length, 1, child.stderr());
    child.proc.kill("SIGTERM");
    assert.equal((await within(child.exited, 30_000, "the device plugin to exit")).code, 0);
  } finally {
    child.proc.kill("SIGKILL");
    await rig.cleanup();
  }
});

test("EPC above the device-mode limit: refused in devices mode, and in node-status mode without node name or API", async () => {
  const rig = await makeRig();
  const noCluster = { NODE_NAME: undefined, KUBERNETES_SERVICE_HOST: undefined, KUBECONFIG: undefined };
  try {
    const limit = maxDevices();
    const common = ["--epc-mib", String(limit + 1), "--dev-root", rig.devRoot, "--socket-dir", rig.socketDir, "--metrics-addr", "127.0.0.1:0"];
    const devices = spawnCli(["device-plugin", ...common, "--epc-mode", "devices"], noCluster);
    const auto = spawnCli(["device-plugin", ...common], noCluster);
    const named = spawnCli(["device-plugin", ...common, "--epc-mode", "node-status"], { ...noCluster, NODE_NAME: "sgx-node-1" });
    for (const child of [devices, auto, named]) {
      assert.equal((await within(child.exited, 30_000, "the device plugin to exit")).code, 1, child.stderr());
      assert.doesNotMatch(child.stderr(), /\n\s+at /, "no stack trace");
    }
    assert.match(devices.stderr(), new RegExp(`EPC of ${limit + 1} MiB is too large for device mode: .* over the kubelet's 4 MiB .* the largest EPC device mode can advertise is ${limit} MiB`));
    assert.match(
      auto.stderr(),
      new RegExp(`EPC of ${limit + 1} MiB is over device mode's limit of ${limit} MiB, so it is published on the node status, which needs the node's name \\(NODE_NAME or --node-name\\) and a Kubernetes API`),
    );
    assert.match(named.stderr(), /--epc-mode node-status publishes the EPC on the node status, which needs a Kubernetes API \(the pod's service account or --kubeconfig\)/);
    assert.doesNotMatch(named.stderr(), /node's name/);
    assert.equal(rig.kubelet.registrationCount(RESOURCE), 0);
  } finally {
    await rig.cleanup();
  }
});

test("bad flags get a clear error and exit 2", async () => {
  const cases = [
    [["--epc-mib", "lots"], /--epc-mib must be a whole number, got "lots"/],
    [["--epc-mib", "0"], /--epc-mib must be at least 1/],
    [["--resource-name", "sgx"], /--resource-name: "sgx" is not domain-qualified/],
    [["--sim-epc-mib", "5"], /--sim-epc-mib needs --simulate/],
    [["--epc-mode", "huge"], /--epc-mode must be one of auto, devices, node-status, got "huge"/],
    [["--enclave-devices", "0"], /--enclave-devices must be at least 1/],
    [["--node-labels"], /--node-labels needs the node name \(NODE_NAME or --node-name\)/],
    [["--provision-devices", "-1"], /--provision-devices must be a whole number, got "-1"/],
    [["--enclave-devices", "300000"], /--enclave-devices must be at most 223278, got 300000/],
    [["--no-provision"], /--no-provision is now the default \(only kubernetes\.azure\.com\/sgx_provision hands \/dev\/sgx_provision\); drop the flag, and add --provision-devices 0/],
    [["--provision"], /--provision was replaced by --provision-all/],
  ] as const;
  await Promise.all(
    cases.map(async ([args, pattern]) => {
      const child = spawnCli(["device-plugin", ...args, "--socket-dir", "/nonexistent-confcom", "--metrics-addr", "127.0.0.1:0"], { NODE_NAME: undefined });
      const { code } = await within(child.exited, 30_000, "the device plugin to exit");
      assert.equal(code, 2, `${args.join(" ")}: ${child.stderr()}`);
      assert.match(child.stderr(), pattern);
    }),
  );
});

test("--provision-devices 0: the provision resource is not registered, its socket not served; --help names the flags", async () => {
  const rig = await makeRig();
  const child = spawnCli(["device-plugin", "--simulate", "--sim-epc-mib", "16", "--provision-devices", "0", "--socket-dir", rig.socketDir, "--metrics-addr", "127.0.0.1:0"]);
  try {
    await child.running(rig.kubelet.waitFor((k) => k.allocatable(RESOURCE) === 16 && k.allocatable("kubernetes.azure.com/sgx_enclave") === 110, 20_000, "EPC and enclave"), "EPC and enclave");
    const port = await opsPort(child);
    assert.equal((await httpGet(port, "/readyz")).status, 200);
    assert.equal(rig.kubelet.registrationCount("kubernetes.azure.com/sgx_provision"), 0);
    assert.deepEqual((await fs.readdir(rig.socketDir)).filter((f) => f.endsWith(".sock")).sort(), ["kubelet.sock", "sgx-enclave.sock", "sgx-epc.sock"]);
  } finally {
    child.proc.kill("SIGKILL");
    await rig.cleanup();
  }
  const help = execFileSync(process.execPath, [cliEntry, "device-plugin", "--help"], { encoding: "utf8" });
  assert.match(help, /--provision-devices <n>/);
  assert.match(help, /--provision-all/);
  assert.doesNotMatch(help, /--no-provision\b/, "the removed flag is not offered");
});
