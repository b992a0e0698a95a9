// The device plugin (a real child process) through many kubelet restarts and allocations: every restart
// gives exactly one registration, and every allocation is answered with the right devices and env.
import assert from "node:assert/strict";
import { test } from "node:test";
import { httpGet, makeRig, opsPort, RESOURCE, spawnCli } from "../deviceplugin/helpers.js";
import { rssKiB } from "../quotehelper/support.js";
import { mib, scale, secs, summary } from "./scale.js";
import { DAEMON_NODE_ARGS } from "../../src/common/node-options.js";
import { PLUGIN_ENV } from "../../src/deviceplugin/defaults.js";
import { within } from "../support/timeout.js";

const RESTARTS = scale(5, 200);
const ALLOCATIONS = scale(250, 10_000);
const EPC = 256;
const PARALLEL = 8;
const MAX_PER_POD = EPC / PARALLEL;

test(`device plugin: ${RESTARTS} kubelet restarts and ${ALLOCATIONS} allocations, no registration lost`, { timeout: scale(120_000, 1_800_000) }, async () => {
  const rig = await makeRig();
  // Run as the DaemonSet runs it, so the RSS bound below is the one a node sees.
  const plugin = spawnCli(["device-plugin", "--simulate", "--sim-epc-mib", String(EPC), "--socket-dir", rig.socketDir, "--metrics-addr", "127.0.0.1:0"], PLUGIN_ENV, DAEMON_NODE_ARGS);
  const t0 = Date.now();
  let allocated = 0;
  let wrong = 0;
  let reregMaxMs = 0;
  try {
    await rig.kubelet.waitFor((k) => k.allocatable(RESOURCE) === EPC, 20_000, "first registration");
    const port = await opsPort(plugin);
    const rssBefore = rssKiB(plugin.proc.pid!);
    const perRound = Math.ceil(ALLOCATIONS / (RESTARTS + 1));
    const allocateRound = async () => {
      const target = Math.min(ALLOCATIONS, allocated + perRound);
      const worker = async () => {
        while (allocated < target) {
          allocated++;
          const want = 1 + (allocated % MAX_PER_POD);
          const { deviceIds, response } = await rig.kubelet.admitContainer(RESOURCE, want);
          const ok =
            deviceIds.length === want &&
            response.envs.SGX_EPC_MIB === String(want) &&
            response.devices.map((d) => d.containerPath).join(",") === "/dev/sgx_enclave";
          if (!ok) wrong++;
          rig.kubelet.release(RESOURCE, deviceIds);
        }
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
    };
    await allocateRound();
    for (let i = 1; i <= RESTARTS; i++) {
      // Every resource the plugin serves (EPC, enclave, provision) re-registers.
      const before = new Map(rig.kubelet.resourceNames().map((r) => [r, rig.kubelet.registrationCount(r)]));
      await rig.kubelet.restart();
      const r0 = Date.now();
      await rig.kubelet.waitFor(
        (k) => [...before].every(([r, n]) => k.registrationCount(r) > n) && k.allocatable(RESOURCE) === EPC,
        20_000,
        `re-registration #${i}`,
      );
      reregMaxMs = Math.max(reregMaxMs, Date.now() - r0);
      await allocateRound();
    }
    // Let the plugin's side settle too: it must end registered, without registering once more.
    const metricsNow = async () => (await httpGet(port, "/metrics")).body;
    for (const end = Date.now() + 10_000; Date.now() < end && !/^confcom_device_plugin_registered 1$/m.test(await metricsNow()); ) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1000));
    const registrations = rig.kubelet.registrationCount(RESOURCE);
    const perResource = Object.fromEntries(rig.kubelet.resourceNames().map((r) => [r, rig.kubelet.registrationCount(r)]));
    const rssAfter = rssKiB(plugin.proc.pid!);
    summary("device-plugin", {
      restarts: RESTARTS,
      registrations,
      byResource: JSON.stringify(perResource),
      allocations: allocated,
      wrong,
      reregistrationMax: `${reregMaxMs}ms`,
      rssBefore: mib(rssBefore),
      rssAfter: mib(rssAfter),
      duration: secs(Date.now() - t0),
    });
    assert.equal(registrations, RESTARTS + 1, "one registration per kubelet start, none lost, none doubled");
    assert.equal(allocated, ALLOCATIONS);
    assert.equal(wrong, 0, "every allocation answered with its devices and SGX_EPC_MIB");
    assert.equal(plugin.proc.exitCode, null, "the plugin is still running");
    // Garbage V8 has not collected yet is bounded by the 64 MiB old generation; a leak would pass it.
    assert.ok(rssAfter - rssBefore <= 48 * 1024, `RSS grew by ${mib(rssAfter - rssBefore)}, over the 48 MiB bound`);
    for (const [resource, count] of Object.entries(perResource)) assert.equal(count, RESTARTS + 1, `${resource}: one registration per kubelet start`);
    const metrics = await metricsNow();
    assert.match(metrics, /^confcom_device_plugin_registered 1$/m, "the plugin ends registered");
    const resources = Object.keys(perResource).length;
    assert.equal(resources, 3, "EPC, enclave and provision resources");
    assert.match(metrics, new RegExp(`^confcom_device_plugin_registrations_total ${resources * (RESTARTS + 1)}$`, "m"), "the plugin counts what the kubelet counted");
    plugin.proc.kill("SIGTERM");
    assert.equal((await within(plugin.exited, 30_000, "the device plugin to exit")).code, 0, plugin.stderr());
  } finally {
    plugin.proc.kill("SIGKILL");
    await rig.cleanup();
  }
});
