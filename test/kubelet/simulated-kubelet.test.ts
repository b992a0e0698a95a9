// The simulated kubelet against a real device plugin (grpc-js server on a unix socket) and real files.
import { test, describe, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { SimulatedKubelet } from "../../src/kubelet/simulated-kubelet.js";
import { KUBELET_MAX_RECEIVE_BYTES } from "../../src/kubelet/plugin-client.js";
import { FakePlugin, register, type DeviceInit } from "./fake-plugin.js";

const RESOURCE = "example.com/epc";
const THREE: DeviceInit[] = [
  { ID: "a", health: "Healthy" },
  { ID: "b", health: "Healthy" },
  { ID: "c", health: "Unhealthy" },
];

let dir: string;
let kubelet: SimulatedKubelet;
const plugins: FakePlugin[] = [];

async function servedPlugin(name: string, devices: DeviceInit[], options?: ConstructorParameters<typeof FakePlugin>[2]) {
  const p = new FakePlugin(path.join(dir, name), devices, options);
  await p.start();
  plugins.push(p);
  return p;
}

async function registeredPlugin(devices = THREE, options?: ConstructorParameters<typeof FakePlugin>[2]) {
  const p = await servedPlugin("plugin.sock", devices, options);
  await register(kubelet.socketPath, { endpoint: p.endpoint, resourceName: RESOURCE });
  return p;
}

function connectError(socket: string): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.on("connect", () => {
      c.destroy();
      resolve("connected");
    });
    c.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "confcom-kubelet-"));
  kubelet = new SimulatedKubelet({ socketDir: dir, dialTimeoutMs: 2000 });
  await kubelet.start();
});

afterEach(async () => {
  await kubelet.stop();
  for (const p of plugins.splice(0)) p.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("registration", () => {
  test("happy path: capacity counts all devices, allocatable only exact \"Healthy\"", async () => {
    await registeredPlugin([...THREE, { ID: "d", health: "healthy" }]);
    assert.equal(kubelet.registrationCount(RESOURCE), 1);
    await kubelet.waitFor((k) => k.capacity(RESOURCE) === 4, 10_000, "first snapshot");
    assert.equal(kubelet.allocatable(RESOURCE), 2);
    assert.deepEqual(kubelet.healthyDeviceIds(RESOURCE), ["a", "b"]);
    assert.deepEqual(kubelet.devices(RESOURCE).map((d) => d.ID), ["a", "b", "c", "d"]);
    assert.equal(kubelet.connected(RESOURCE), true);
    assert.equal(kubelet.pluginOptions(RESOURCE)?.getPreferredAllocationAvailable, false);
  });

  test("each snapshot replaces the previous one", async () => {
    const p = await registeredPlugin();
    await kubelet.waitFor((k) => k.capacity(RESOURCE) === 3);
    p.setDevices([{ ID: "x", health: "Healthy" }]);
    await kubelet.waitFor((k) => k.capacity(RESOURCE) === 1, 10_000, "second snapshot");
    assert.deepEqual(kubelet.healthyDeviceIds(RESOURCE), ["x"]);
  });

  test("an unsupported version is refused with the reason", async () => {
    const p = await servedPlugin("plugin.sock", THREE);
    await assert.rejects(register(kubelet.socketPath, { version: "v1alpha", endpoint: p.endpoint, resourceName: RESOURCE }), (err: Error) => {
      assert.match(err.message, /requested API version "v1alpha" is not supported by kubelet/);
      return true;
    });
    assert.equal(kubelet.registrationCount(RESOURCE), 0);
  });

  for (const bad of ["epc", "kubernetes.io/epc", "sgx.kubernetes.io/epc", "requests.example.com/epc", "Example.com/epc", "example.com/a/b", "example.com/-x"]) {
    test(`resource name ${JSON.stringify(bad)} is refused with the reason`, async () => {
      const p = await servedPlugin("plugin.sock", THREE);
      await assert.rejects(register(kubelet.socketPath, { endpoint: p.endpoint, resourceName: bad }), (err: Error) => {
        assert.match(err.message, /the ResourceName ".*" is invalid: /);
        return true;
      });
      assert.equal(p.openStreams, 0);
    });
  }

  test("Register fails when nothing serves the plugin's socket, after the dial timeout", async () => {
    const short = new SimulatedKubelet({ socketDir: path.join(dir, "k2"), dialTimeoutMs: 300 });
    await short.start();
    try {
      await assert.rejects(register(short.socketPath, { endpoint: "absent.sock", resourceName: RESOURCE }), (err: Error) => {
        assert.match(err.message, /failed to dial device plugin: dial .*absent\.sock: not reachable within 300 ms/);
        return true;
      });
      assert.equal(short.registrationCount(RESOURCE), 0);
    } finally {
      await short.stop();
    }
  });

  test("a new registration for the same resource replaces the old endpoint and cancels its stream", async () => {
    const first = await registeredPlugin();
    await kubelet.waitFor((k) => k.capacity(RESOURCE) === 3);
    const second = await servedPlugin("second.sock", [{ ID: "z", health: "Healthy" }]);
    await register(kubelet.socketPath, { endpoint: second.endpoint, resourceName: RESOURCE });
    await kubelet.waitForRegistration(RESOURCE, { after: 1 });
    await kubelet.waitFor((k) => k.capacity(RESOURCE) === 1 && k.healthyDeviceIds(RESOURCE)[0] === "z");
    // The old plugin sees its stream cancelled; its updates no longer count.
    await waitUntil(() => first.cancelledStreams === 1);
    first.setDevices(THREE);
    const res = await kubelet.allocate(RESOURCE, ["z"]);
    assert.equal(res.envs.FAKE_DEVICES, "z");
    assert.equal(second.allocateRequests.length, 1);
    assert.equal(first.allocateRequests.length, 0);
    assert.equal(kubelet.capacity(RESOURCE), 1);
  });
});

describe("calls the kubelet makes", () => {
  test("allocate sends one ContainerAllocateRequest and returns the typed container response", async () => {
    const p = await registeredPlugin();
    const res = await kubelet.allocate(RESOURCE, ["a", "b"]);
    assert.equal(p.allocateRequests.length, 1);
    assert.equal(p.allocateRequests[0]!.containerRequests.length, 1);
    assert.deepEqual(p.allocateRequests[0]!.containerRequests[0]!.devicesIds, ["a", "b"]);
    assert.equal(res.envs.FAKE_DEVICES, "a,b");
    assert.deepEqual(res.devices.map((d) => [d.containerPath, d.hostPath, d.permissions]), [["/dev/fake", "/dev/null", "rw"]]);
  });

  test("preferred allocation and PreStartContainer are refused unless the plugin advertised them", async () => {
    await registeredPlugin();
    await assert.rejects(kubelet.preferredAllocation(RESOURCE, ["a", "b"], [], 1), /does not advertise GetPreferredAllocation/);
    await assert.rejects(kubelet.preStartContainer(RESOURCE, ["a"]), /does not require PreStartContainer/);
    await assert.rejects(kubelet.allocate("other.com/x", ["a"]), /no device plugin registered/);
  });

  test("admitContainer uses the preferred allocation and PreStartContainer when offered", async () => {
    const p = await registeredPlugin(THREE, { getPreferredAllocationAvailable: true, preStartRequired: true });
    await kubelet.waitFor((k) => k.allocatable(RESOURCE) === 2);
    assert.deepEqual(await kubelet.preferredAllocation(RESOURCE, ["a", "b"], [], 1), ["b"]);
    const admitted = await kubelet.admitContainer(RESOURCE, 1);
    assert.deepEqual(admitted.deviceIds, ["b"]);
    assert.deepEqual(p.preStartRequests.map((r) => r.devicesIds), [["b"]]);
    const next = await kubelet.admitContainer(RESOURCE, 1);
    assert.deepEqual(next.deviceIds, ["a"]);
    await assert.rejects(kubelet.admitContainer(RESOURCE, 1), /Requested: 1, Available: 0/);
    kubelet.release(RESOURCE, ["a"]);
    assert.deepEqual((await kubelet.admitContainer(RESOURCE, 1)).deviceIds, ["a"]);
  });
});

describe("plugin disconnect and message size", () => {
  test("stream end marks every device unhealthy and stops the endpoint", async () => {
    const p = await registeredPlugin();
    await kubelet.waitFor((k) => k.allocatable(RESOURCE) === 2);
    p.endStreams();
    await kubelet.waitFor((k) => k.allocatable(RESOURCE) === 0, 10_000, "disconnect");
    assert.equal(kubelet.capacity(RESOURCE), 3);
    assert.equal(kubelet.connected(RESOURCE), false);
    assert.match(kubelet.lastError(RESOURCE) ?? "", /ended/);
    await assert.rejects(kubelet.allocate(RESOURCE, ["a"]), /has been stopped/);
  });

  test("after the stop grace period a disconnected plugin's devices leave capacity; re-registration brings them back", async () => {
    let clock = 1_000_000;
    const k = new SimulatedKubelet({ socketDir: path.join(dir, "k3"), endpointStopGracePeriodMs: 5 * 60_000, now: () => clock });
    await k.start();
    try {
      const p = new FakePlugin(path.join(dir, "k3", "plugin.sock"), THREE);
      await p.start();
      plugins.push(p);
      await register(k.socketPath, { endpoint: p.endpoint, resourceName: RESOURCE });
      await k.waitFor((x) => x.allocatable(RESOURCE) === 2);
      p.endStreams();
      await k.waitFor((x) => !x.connected(RESOURCE));
      clock += 5 * 60_000;
      assert.equal(k.capacity(RESOURCE), 3, "still within the grace period");
      clock += 1;
      assert.equal(k.capacity(RESOURCE), 0);
      await register(k.socketPath, { endpoint: p.endpoint, resourceName: RESOURCE });
      await k.waitFor((x) => x.capacity(RESOURCE) === 3 && x.allocatable(RESOURCE) === 2);
    } finally {
      await k.stop();
    }
  });

  test("plugin server going away marks devices unhealthy", async () => {
    const p = await registeredPlugin();
    await kubelet.waitFor((k) => k.allocatable(RESOURCE) === 2);
    p.stop();
    await kubelet.waitFor((k) => k.allocatable(RESOURCE) === 0 && !k.connected(RESOURCE), 10_000, "disconnect");
    assert.equal(kubelet.capacity(RESOURCE), 3);
  });

  test("a snapshot over 4 MiB is refused like grpc-go's default receive limit; one just under passes", async () => {
    const p = await registeredPlugin();
    await kubelet.waitFor((k) => k.capacity(RESOURCE) === 3);
    // Each entry: 1+1 (Device tag+len) + 2+56 (ID) + 2+7 (health) = 69 bytes.
    const devices = (n: number): DeviceInit[] =>
      Array.from({ length: n }, (_, i) => ({ ID: String(i).padStart(56, "0"), health: "Healthy" }));
    const under = Math.floor(KUBELET_MAX_RECEIVE_BYTES / 69) - 1;
    p.sendRaw(devices(under));
    await kubelet.waitFor((k) => k.capacity(RESOURCE) === under, 20_000, "large snapshot");
    p.sendRaw(devices(under + 200));
    await kubelet.waitFor((k) => !k.connected(RESOURCE), 20_000, "oversized snapshot refused");
    assert.match(kubelet.lastError(RESOURCE) ?? "", /larger than max \(\d+ vs\.? 4194304\)/i);
    assert.equal(kubelet.allocatable(RESOURCE), 0);
    assert.equal(kubelet.capacity(RESOURCE), under);
  });
});

describe("lifecycle", () => {
  test("restart deletes socket files, keeps the checkpoint and directories, and forgets devices until re-registration", async () => {
    const p = await registeredPlugin();
    await kubelet.waitFor((k) => k.capacity(RESOURCE) === 3);
    writeFileSync(path.join(dir, "kubelet_internal_checkpoint"), "{}");
    mkdirSync(path.join(dir, "subdir"));
    await kubelet.restart();
    assert.deepEqual(readdirSync(dir).sort(), ["kubelet.sock", "kubelet_internal_checkpoint", "subdir"]);
    assert.ok(statSync(kubelet.socketPath).isSocket());
    assert.equal(kubelet.capacity(RESOURCE), 0);
    assert.equal(kubelet.allocatable(RESOURCE), 0);
    // The plugin re-serves and re-registers, as real plugins do when their socket disappears.
    p.stop();
    await p.start();
    await register(kubelet.socketPath, { endpoint: p.endpoint, resourceName: RESOURCE });
    assert.equal(await kubelet.waitForRegistration(RESOURCE, { after: 1 }), 2);
    await kubelet.waitFor((k) => k.allocatable(RESOURCE) === 2);
  });

  test("start creates a missing directory with mode 0750", async () => {
    const sub = path.join(dir, "a/b");
    const k = new SimulatedKubelet({ socketDir: sub });
    await k.start();
    try {
      assert.equal(statSync(sub).mode & 0o777, 0o750);
    } finally {
      await k.stop();
    }
  });

  test("stop removes kubelet.sock by default, leaves a dead one when asked", async () => {
    await kubelet.stop();
    assert.equal(existsSync(kubelet.socketPath), false);
    await kubelet.start();
    await kubelet.stop({ leaveSocket: true });
    assert.ok(statSync(kubelet.socketPath).isSocket());
    assert.equal(await connectError(kubelet.socketPath), "ECONNREFUSED");
    await kubelet.start();
    assert.equal(await connectError(kubelet.socketPath), "connected");
  });

  test("kill leaves a stale kubelet.sock nobody listens on and drops plugin streams", async () => {
    const p = await registeredPlugin();
    await kubelet.waitFor((k) => k.capacity(RESOURCE) === 3);
    await kubelet.kill();
    assert.equal(kubelet.running, false);
    assert.ok(statSync(kubelet.socketPath).isSocket());
    assert.equal(await connectError(kubelet.socketPath), "ECONNREFUSED");
    await waitUntil(() => p.openStreams === 0);
    await assert.rejects(register(kubelet.socketPath, { endpoint: p.endpoint, resourceName: RESOURCE }));
  });

  test("waitFor rejects with the kubelet state after its timeout", async () => {
    await assert.rejects(kubelet.waitFor((k) => k.capacity(RESOURCE) === 1, 50, "never"), /timed out after 50 ms waiting for never; kubelet state/);
  });
});

/** For conditions on the plugin side, which has no events: bounded polling. */
async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
