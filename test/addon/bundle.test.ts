// What ships is what is tested: build dist/bundle/confcom.mjs with `scripts/bundle.mjs` and run it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { buildFakeDcap } from "../quoting/fake-dcap/fake-dcap.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { repoRoot } from "../support/paths.js";
import { validateObject } from "./schema.js";

const run = promisify(execFile);
const bundle = path.join(repoRoot, "dist/bundle/confcom.mjs");
let fake: FakeApiServer;

before(async () => {
  await run(process.execPath, [path.join(repoRoot, "scripts/bundle.mjs")], { cwd: repoRoot, timeout: 50_000 });
  fake = await FakeApiServer.start();
});
after(() => fake?.close());

test("the bundle is the code-split CLI (entry and chunks side by side) plus the quote helper's worker entry points", () => {
  for (const f of ["confcom.mjs", "worker.js", "backends/simulated.js", "attestation-app.mjs", "package.json"]) {
    assert.ok(existsSync(path.join(repoRoot, "dist/bundle", f)), f);
  }
  const chunks = readdirSync(path.join(repoRoot, "dist/bundle")).filter((f) => /^chunk-[A-Z0-9]+\.mjs$/.test(f));
  assert.ok(chunks.length > 1, "each command's lazy import is a chunk");
});

test("the bundle prints its help and version", async () => {
  const { stdout } = await run(process.execPath, [bundle, "--help"]);
  for (const cmd of ["addon", "webhook", "device-plugin", "quote-helper", "sample"]) assert.match(stdout, new RegExp(`^  ${cmd} `, "m"));
  const { stdout: version } = await run(process.execPath, [bundle, "--version"]);
  assert.match(version, /^\d+\.\d+\.\d+/);
});

test("the bundle renders valid objects and enables the add-on against an API server", async () => {
  const { stdout } = await run(process.execPath, [bundle, "addon", "render", "-o", "json", "--enable-sgxquotehelper"]);
  const list = JSON.parse(stdout) as { kind: string; items: { apiVersion: string; kind: string; spec?: any }[] };
  assert.equal(list.kind, "List");
  for (const o of list.items) validateObject(o);
  const ds = list.items.find((o) => o.kind === "DaemonSet")!;
  assert.match(ds.spec.template.spec.containers[0].image, /^ghcr\.io\/confcom\/confcom:\d+\.\d+\.\d+/, "the default image tag is the package version");

  const enable = await run(process.execPath, [bundle, "addon", "enable", "--kubeconfig", fake.kubeconfigPath, "--wait", "20s"]);
  assert.match(enable.stdout, /Addon "confcom" is enabled/);
  assert.ok(fake.find("DaemonSet", "sgx-plugin", "kube-system"));
});

/** Starts the quote helper from `entry` and resolves once it listens; the caller stops it. */
async function startHelper(entry: string, args: string[]) {
  const helper = spawn(process.execPath, [entry, "quote-helper", ...args, "--metrics-addr", "127.0.0.1:0", "--workers", "1"], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`quote helper did not start: ${log}`)), 30_000);
    helper.stderr.on("data", (c: Buffer) => {
      log += c.toString();
      if (log.includes("quote helper listening")) {
        clearTimeout(timer);
        resolve();
      }
    });
    helper.once("exit", (code) => reject(new Error(`quote helper exited (${code}): ${log}`)));
  });
  return helper;
}

test("the bundle, copied away from the repository as the image ships it, serves quotes with both backends", async () => {
  // Outside the repository nothing can resolve from its node_modules: only the payload's own files count.
  const dir = mkdtempSync(path.join(tmpdir(), "confcom-bundle-"));
  const payload = path.join(dir, "opt-confcom");
  cpSync(path.join(repoRoot, "dist/bundle"), payload, { recursive: true });
  const entry = path.join(payload, "confcom.mjs");
  const state = path.join(dir, "sgx");
  await run(process.execPath, [entry, "sim", "init", "--state", state], { timeout: 30_000 });
  const dcap = buildFakeDcap();
  try {
    for (const [backend, args] of [
      ["simulated", ["--simulate", "--sim-state", state]],
      ["dcap (koffi from the payload's node_modules)", ["--backend", "dcap", "--dcap-library", dcap.libraryPath]],
    ] as const) {
      const socket = path.join(dir, `${backend.split(" ")[0]}.socket`);
      const helper = await startHelper(entry, [...args, "--socket", socket]);
      try {
        const { stdout } = await run(process.execPath, [entry, "aesm", "ping", "--socket", socket], { timeout: 20_000 });
        assert.match(stdout, /1 attestation key id\(s\) supported/, backend);
      } finally {
        helper.kill("SIGTERM");
      }
    }
  } finally {
    dcap.remove();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the attestation sample runs from the bundle alone (`confcom sample attestation`, what job-simulated.yaml runs)", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "confcom-bundle-sample-"));
  try {
    const state = path.join(dir, "state");
    await run(process.execPath, [bundle, "sim", "init", "--state", state, "--seed", "bundle-sample", "--log-level", "silent"]);
    await run(process.execPath, [bundle, "sim", "collateral", "--state", state, "--out", path.join(dir, "collateral.json"), "--log-level", "silent"]);
    const { stdout } = await run(process.execPath, [bundle, "sample", "attestation", "--json"], {
      env: { PATH: process.env.PATH ?? "", CONFCOM_SIM_STATE: state, COLLATERAL_FILE: path.join(dir, "collateral.json"), SGX_ROOT_CA: path.join(state, "root-ca.pem") },
      timeout: 60_000,
    });
    const r = JSON.parse(stdout) as { ok: boolean; tcbStatus: string };
    assert.equal(r.ok, true, stdout);
    assert.equal(r.tcbStatus, "UpToDate");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the main job runs from the bundle: confcom demo --json ends UpToDate", async () => {
  const { stdout } = await run(process.execPath, [bundle, "demo", "--json"], { timeout: 120_000 });
  const report = JSON.parse(stdout) as { ok: boolean; attestation?: { tcbStatus?: string; mode?: string } };
  assert.equal(report.ok, true, stdout);
  assert.equal(report.attestation?.tcbStatus, "UpToDate", stdout);
  assert.equal(report.attestation?.mode, "out-of-proc", "the app got its quote from the quote helper");
});

test("the bundle's device plugin publishes a 1 TiB EPC on its node status (node-status mode)", async () => {
  fake.addNode("bundle-node", {});
  const dir = mkdtempSync(path.join(tmpdir(), "confcom-bundle-dp-"));
  const plugin = spawn(
    process.execPath,
    [bundle, "device-plugin", "--epc-mib", "1048576", "--dev-root", dir, "--socket-dir", path.join(dir, "dp"), "--kubeconfig", fake.kubeconfigPath, "--metrics-addr", "127.0.0.1:0"],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NODE_NAME: "bundle-node" } },
  );
  let log = "";
  plugin.stderr.on("data", (c: Buffer) => (log += c.toString()));
  try {
    const deadline = Date.now() + 20_000;
    while (fake.find("Node", "bundle-node")!.status.capacity["kubernetes.azure.com/sgx_epc_mem_in_MiB"] !== "1048576") {
      assert.ok(Date.now() < deadline && plugin.exitCode === null, `no capacity published: ${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(fake.find("Node", "bundle-node")!.metadata.labels["sgx.intel.com/capable"], "true");
  } finally {
    plugin.kill("SIGTERM");
  }
});
