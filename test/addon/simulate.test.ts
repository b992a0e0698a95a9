// `addon render|enable --simulate`: the same objects plus a simulated cluster's, every workload on the
// simulated backends, valid against the OpenAPI schemas; and `addon status` saying so.
import { test, describe, after, before } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { V1DaemonSet, V1Deployment, V1PodSpec } from "@kubernetes/client-node";
import { enableAddon } from "../../src/addon/cluster/operations.js";
import { addonStatus } from "../../src/addon/cluster/status.js";
import { renderAddon } from "../../src/addon/manifests/index.js";
import { simulationConfig } from "../../src/addon/simulation.js";
import { KubeClient } from "../../src/k8s/client.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { cliEntry } from "../support/paths.js";
import { testConfig } from "./fixtures.js";
import { validateObject } from "./schema.js";

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [k: string]: unknown;
}

function render(...args: string[]): Obj[] {
  const r = spawnSync(process.execPath, [cliEntry, "addon", "render", "-o", "json", ...args], { encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { items: Obj[] }).items;
}
const find = <T>(objs: Obj[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} rendered`);
  return o as unknown as T;
};
const podOf = (o: V1DaemonSet | V1Deployment) => o.spec!.template.spec as V1PodSpec;
const argsOf = (o: V1DaemonSet | V1Deployment) => podOf(o).containers[0]!.args!;

describe("addon render --simulate", () => {
  const SEED = "render-seed";
  let objs: Obj[];
  before(() => {
    objs = render("--simulate", "--sim-seed", SEED, "--sim-epc-mib", "4096", "--enable-sgxquotehelper");
  });

  test("every object is valid against the Kubernetes OpenAPI schemas", () => {
    for (const o of objs) assert.doesNotThrow(() => validateObject(o), `${o.kind} ${o.metadata.name}`);
    const kinds = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    for (const k of ["DaemonSet/sgx-plugin", "DaemonSet/sgx-quote-helper", "Deployment/confcom-webhook", "Deployment/confcom-pccs", "Service/confcom-pccs", "ConfigMap/confcom-sim-root-ca"]) {
      assert.ok(kinds.includes(k), k);
    }
  });

  test("the device plugin runs the simulated node; the quote helper the simulated QE3, never --backend", () => {
    const plugin = find<V1DaemonSet>(objs, "DaemonSet", "sgx-plugin");
    const args = argsOf(plugin);
    for (const a of ["--simulate", "--sim-host-devices", "--sim-epc-mib=4096", `--sim-seed=${SEED}`, "--sim-state-root=/var/lib/confcom/sim", "--no-node-labels"]) assert.ok(args.includes(a), a);
    assert.ok(!podOf(plugin).volumes!.some((v) => v.hostPath?.type === "CharDevice"));
    assert.ok(podOf(plugin).volumes!.some((v) => v.hostPath?.path === "/var/lib/confcom/sim"));
    const qh = argsOf(find<V1DaemonSet>(objs, "DaemonSet", "sgx-quote-helper"));
    assert.ok(qh.includes("--simulate"));
    assert.ok(!qh.some((a) => a.startsWith("--backend")), qh.join(" "));
    // The flags it renders are accepted together by the real commands.
    const help = spawnSync(process.execPath, [cliEntry, "device-plugin", ...args.slice(1), "--node-name", "n", "--help"], { encoding: "utf8", timeout: 30_000 });
    assert.equal(help.status, 0, help.stderr);
  });

  test("every Linux node is selected unless --node-label says otherwise", () => {
    for (const name of ["sgx-plugin", "sgx-quote-helper"]) {
      const terms = podOf(find<V1DaemonSet>(objs, "DaemonSet", name)).affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms;
      assert.deepEqual(terms, [{ matchExpressions: [{ key: "kubernetes.io/os", operator: "In", values: ["linux"] }] }]);
    }
    const labelled = render("--simulate", "--sim-seed", SEED, "--node-label", "sim=yes");
    const terms = podOf(find<V1DaemonSet>(labelled, "DaemonSet", "sgx-plugin")).affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms;
    assert.deepEqual(terms, [{ matchExpressions: [{ key: "kubernetes.io/os", operator: "In", values: ["linux"] }, { key: "sim", operator: "In", values: ["yes"] }] }]);
  });

  test("the root CA ConfigMap holds the root every node of the seed issues, byte for byte", () => {
    const cm = find<{ data: Record<string, string> }>(objs, "ConfigMap", "confcom-sim-root-ca");
    const dir = mkdtempSync(path.join(os.tmpdir(), "confcom-simroot-"));
    try {
      const r = spawnSync(process.execPath, [cliEntry, "sim", "init", "--state", path.join(dir, "n"), "--seed", SEED, "--node-name", "worker-7"], { encoding: "utf8", timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(cm.data["root-ca.pem"], readFileSync(path.join(dir, "n", "root-ca.pem"), "utf8"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The PCCS derives the same cluster from the same seed.
    const pccs = find<V1Deployment>(objs, "Deployment", "confcom-pccs");
    assert.ok(podOf(pccs).initContainers![0]!.args!.includes(`--seed=${SEED}`));
    assert.equal(podOf(pccs).securityContext!.runAsUser, 65532);
  });

  test("--sim-* flags need --simulate", () => {
    const r = spawnSync(process.execPath, [cliEntry, "addon", "render", "--sim-seed", "x"], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--sim-seed needs --simulate/);
  });
});

test("without --simulate: the plugin reads the host's /dev read-only (no CharDevice type check), the quote helper uses dcap", () => {
  const objs = render("--enable-sgxquotehelper");
  for (const o of objs) assert.doesNotThrow(() => validateObject(o), `${o.kind} ${o.metadata.name}`);
  const plugin = find<V1DaemonSet>(objs, "DaemonSet", "sgx-plugin");
  const pod = podOf(plugin);
  assert.ok(!pod.volumes!.some((v) => v.hostPath?.type === "CharDevice"));
  assert.deepEqual(pod.volumes!.find((v) => v.name === "host-dev")!.hostPath, { path: "/dev", type: "Directory" });
  assert.deepEqual(pod.containers[0]!.volumeMounts!.find((m) => m.name === "host-dev"), { name: "host-dev", mountPath: "/host/dev", readOnly: true });
  assert.ok(argsOf(plugin).includes("--dev-root=/host") && argsOf(plugin).includes("--host-dev-paths"));
  assert.ok(argsOf(find<V1DaemonSet>(objs, "DaemonSet", "sgx-quote-helper")).includes("--backend=dcap"));
  assert.ok(!objs.some((o) => o.metadata.name === "confcom-pccs"));
});

describe("addon status of a simulated cluster", () => {
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
  });
  after(async () => {
    await fake?.close();
  });

  test("says SIMULATED in words that cannot be missed", async () => {
    const config = testConfig({ nodeLabels: [], instanceTypes: [], simulation: await simulationConfig("status-seed", 2048) });
    assert.ok(renderAddon(config, { caPem: "x", certPem: "x", keyPem: "x" }).length > 0);
    const client = await KubeClient.connect({ kubeconfig: fake.kubeconfigPath });
    await enableAddon(client, config, { print: () => {} });
    const lines = await addonStatus(client, "kube-system");
    const text = lines.join("\n");
    assert.match(text, /SIMULATED CLUSTER: NO SGX HARDWARE/);
    assert.match(text, /Do not trust them/);
    assert.match(text, /2048 MiB of simulated EPC per node/);
    // And through the CLI.
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [cliEntry, "addon", "status", "--kubeconfig", fake.kubeconfigPath], { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout))),
    );
    assert.match(out, /!!! SIMULATED CLUSTER/);
  });

  test("update keeps the recorded seed unless told, and --no-simulate turns simulation off", async () => {
    const cli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [cliEntry, "addon", ...args, "--kubeconfig", fake.kubeconfigPath, "--namespace", "sim-ns"], { timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
    fake.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "sim-ns" } } as never);
    const pluginArgs = () => (fake.find("DaemonSet", "sgx-plugin", "sim-ns") as unknown as V1DaemonSet).spec!.template.spec!.containers[0]!.args!;
    let r = await cli("enable", "--simulate", "--sim-seed", "upd-seed", "--no-wait");
    assert.equal(r.code, 0, r.stderr);
    assert.ok(pluginArgs().includes("--sim-seed=upd-seed"));
    r = await cli("update", "--enable-sgxquotehelper", "--no-wait");
    assert.equal(r.code, 0, r.stderr);
    assert.ok(pluginArgs().includes("--sim-seed=upd-seed"), "kept");
    r = await cli("update", "--simulate", "--sim-epc-mib", "1024", "--no-wait");
    assert.equal(r.code, 0, r.stderr);
    assert.ok(pluginArgs().includes("--sim-seed=upd-seed") && pluginArgs().includes("--sim-epc-mib=1024"), pluginArgs().join(" "));
    r = await cli("update", "--no-simulate", "--no-wait");
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!pluginArgs().includes("--simulate"));
    assert.ok(!fake.find("Deployment", "confcom-pccs", "sim-ns"), "the PCCS went with the simulation");
    const status = await cli("status");
    assert.doesNotMatch(status.stdout, /SIMULATED/);
  });
});
