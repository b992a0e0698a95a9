// SGX device-node discovery, its watcher and the simulated dev root, on real files and real device nodes.
import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, openSync, closeSync, rmSync, symlinkSync, writeFileSync, renameSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  createSimulatedDevRoot,
  enclaveAvailable,
  findSgxDeviceNodes,
  simulatedNodeKind,
  watchDeviceNodes,
  type SgxDeviceNode,
} from "../../src/deviceplugin/devices/index.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "confcom-dev-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const paths = (nodes: readonly SgxDeviceNode[]) => nodes.map((n) => n.containerPath);

test("the in-kernel driver's nodes are found, typed, with host paths under the dev root", async () => {
  await createSimulatedDevRoot(root);
  const nodes = await findSgxDeviceNodes(root);
  assert.deepEqual(nodes, [
    { containerPath: "/dev/sgx_enclave", hostPath: path.join(root, "dev/sgx_enclave"), role: "enclave" },
    { containerPath: "/dev/sgx_provision", hostPath: path.join(root, "dev/sgx_provision"), role: "provision" },
  ]);
  assert.equal(enclaveAvailable(nodes), true);
});

test("the /dev/sgx/* aliases are followed to their character devices", async () => {
  await createSimulatedDevRoot(root);
  mkdirSync(path.join(root, "dev/sgx"));
  symlinkSync("../sgx_enclave", path.join(root, "dev/sgx/enclave"));
  symlinkSync("../sgx_provision", path.join(root, "dev/sgx/provision"));
  const nodes = await findSgxDeviceNodes(root);
  assert.deepEqual(paths(nodes), ["/dev/sgx_enclave", "/dev/sgx_provision", "/dev/sgx/enclave", "/dev/sgx/provision"]);
  assert.deepEqual(nodes.map((n) => n.role), ["enclave", "provision", "enclave", "provision"]);
});

test("directories, regular files and dangling symlinks never count", async () => {
  mkdirSync(path.join(root, "dev/sgx_enclave"), { recursive: true }); // the "/dev/sgx is a directory" pitfall
  writeFileSync(path.join(root, "dev/isgx"), "");
  symlinkSync("/nonexistent/sgx", path.join(root, "dev/sgx_provision"));
  mkdirSync(path.join(root, "dev/sgx"));
  const nodes = await findSgxDeviceNodes(root);
  assert.deepEqual(nodes, []);
  assert.equal(enclaveAvailable(nodes), false);
  assert.deepEqual(await findSgxDeviceNodes(path.join(root, "missing")), []);
});

test("the legacy /dev/isgx counts as an enclave node; provision alone is not enough", async () => {
  mkdirSync(path.join(root, "dev"));
  symlinkSync("/dev/null", path.join(root, "dev/sgx_provision"));
  assert.equal(enclaveAvailable(await findSgxDeviceNodes(root)), false);
  symlinkSync("/dev/null", path.join(root, "dev/isgx"));
  const nodes = await findSgxDeviceNodes(root);
  assert.deepEqual(paths(nodes), ["/dev/sgx_provision", "/dev/isgx"]);
  assert.equal(enclaveAvailable(nodes), true);
});

test("simulated dev root: mknod 1:3 when permitted, symlinks to /dev/null otherwise; re-creating is fine", async () => {
  await createSimulatedDevRoot(root);
  const kind = await simulatedNodeKind(path.join(root, "dev/sgx_enclave"));
  if (process.getuid?.() === 0) assert.equal(kind, "mknod", "root with CAP_MKNOD makes real device nodes");
  else assert.ok(kind === "mknod" || kind === "symlink");
  closeSync(openSync(path.join(root, "dev/sgx_enclave"), "r+")); // harmless to open, as /dev/null
  const other = path.join(root, "other");
  assert.equal(await createSimulatedDevRoot(other, { method: "symlink" }), other);
  assert.equal(await simulatedNodeKind(path.join(other, "dev/sgx_provision")), "symlink");
  assert.equal((await findSgxDeviceNodes(other)).length, 2);
  await createSimulatedDevRoot(other);
  assert.equal((await findSgxDeviceNodes(other)).length, 2);
});

/** Collects onChange calls; `next()` awaits the next one (bounded). */
function recorder() {
  const seen: Array<readonly SgxDeviceNode[]> = [];
  const waiters: Array<(n: readonly SgxDeviceNode[]) => void> = [];
  return {
    seen,
    onChange(nodes: readonly SgxDeviceNode[]) {
      seen.push(nodes);
      waiters.shift()?.(nodes);
    },
    next(timeoutMs = 10_000): Promise<readonly SgxDeviceNode[]> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no change reported in time")), timeoutMs);
        waiters.push((n) => {
          clearTimeout(timer);
          resolve(n);
        });
      });
    },
  };
}

// fs.watch handles are non-persistent (unref'd) and not listed here; the poll timer is.
const activeTimers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

test("watcher reports removal and restoration, and stops cleanly", async () => {
  await createSimulatedDevRoot(root);
  const before = activeTimers();
  const rec = recorder();
  const w = watchDeviceNodes(root, (n) => rec.onChange(n), { intervalMs: 50 });
  try {
    assert.deepEqual(paths(await w.ready), ["/dev/sgx_enclave", "/dev/sgx_provision"]);
    assert.equal(rec.seen.length, 0, "the first scan is not a change");

    let change = rec.next();
    renameSync(path.join(root, "dev/sgx_enclave"), path.join(root, "enclave.away"));
    assert.deepEqual(paths(await change), ["/dev/sgx_provision"]);
    assert.equal(enclaveAvailable(w.current()), false);

    change = rec.next();
    renameSync(path.join(root, "enclave.away"), path.join(root, "dev/sgx_enclave"));
    assert.deepEqual(paths(await change), ["/dev/sgx_enclave", "/dev/sgx_provision"]);
    assert.equal(enclaveAvailable(w.current()), true);

    // A node turning into a regular file is a removal too (only the poll sees this kind of change reliably).
    change = rec.next();
    rmSync(path.join(root, "dev/sgx_provision"));
    writeFileSync(path.join(root, "dev/sgx_provision"), "");
    assert.deepEqual(paths(await change), ["/dev/sgx_enclave"]);
  } finally {
    w.stop();
  }
  assert.equal(activeTimers(), before, "no poll timer left behind");
  const count = rec.seen.length;
  rmSync(path.join(root, "dev/sgx_enclave"));
  // A negative check needs some wait: several poll periods' worth.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(rec.seen.length, count, "no report after stop()");
});

test("watcher can report the first scan, and copes with a dev root that appears later", async () => {
  const rec = recorder();
  const first = rec.next();
  const w = watchDeviceNodes(root, (n) => rec.onChange(n), { intervalMs: 50, emitInitial: true });
  try {
    assert.deepEqual(await first, []);
    const change = rec.next();
    await createSimulatedDevRoot(root);
    assert.equal((await change).length >= 1, true);
    await w.ready;
  } finally {
    w.stop();
  }
});
