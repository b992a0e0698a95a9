// The add-on against API servers of different versions (the in-process API server reporting them), the
// ownership guard of update and disable, and `addon status` reading each quote helper's build through
// the API server's pod proxy from real HTTP endpoints.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Gauge, Registry } from "prom-client";
import { disableAddon, enableAddon, updateAddon } from "../../src/addon/cluster/operations.js";
import { addonStatus } from "../../src/addon/cluster/status.js";
import { KubeClient } from "../../src/k8s/client.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { cliEntry } from "../support/paths.js";
import { RESOURCE, testConfig } from "./fixtures.js";

const NS = "kube-system";
const connect = (fake: FakeApiServer) => KubeClient.connect({ kubeconfig: fake.kubeconfigPath });
const quiet = { waitMs: 20_000, pollMs: 50 };

async function run(op: (print: (l: string) => void) => Promise<void>): Promise<string> {
  const lines: string[] = [];
  await op((l) => lines.push(l));
  return lines.join("\n");
}
const enable = async (fake: FakeApiServer, over = {}) => run(async (print) => enableAddon(await connect(fake), testConfig(over), { ...quiet, print }));
const update = async (fake: FakeApiServer, change: (c: ReturnType<typeof testConfig>) => ReturnType<typeof testConfig>) =>
  run(async (print) => updateAddon(await connect(fake), change, NS, { ...quiet, print }));
const disable = async (fake: FakeApiServer) => run(async (print) => disableAddon(await connect(fake), NS, { ...quiet, print }));
const status = async (fake: FakeApiServer) => (await addonStatus(await connect(fake), NS)).join("\n");
const managed = (fake: FakeApiServer) => [...fake.objects.values()].filter((o) => o.metadata.labels?.["app.kubernetes.io/managed-by"] === "confcom").map((o) => `${o.kind}/${o.metadata.name}`);

describe("the API server's version decides the objects", { concurrency: 1 }, () => {
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
    fake.addNode("sgx-1", { "sgx.intel.com/capable": "true" }, { resource: RESOURCE, capacity: "16384", allocatable: "16384" });
  });
  after(() => fake.close());

  test("1.29: no ValidatingAdmissionPolicy, the quote helper surges; enable, status and disable say and do so", async () => {
    fake.version = { major: "1", minor: "29", gitVersion: "v1.29.7" };
    const out = await enable(fake);
    assert.match(out, /API server v1\.29\.7: node access: ClusterRole only \(no ValidatingAdmissionPolicy before 1\.30\): the device plugin can patch any node/);
    assert.match(out, /quote helper rollout: surge \(maxSurge 1, maxUnavailable 0\)/);
    assert.ok(!managed(fake).some((o) => o.startsWith("ValidatingAdmissionPolicy")));
    assert.deepEqual(fake.find("DaemonSet", "sgx-quote-helper", NS)!.spec.updateStrategy.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
    const st = await status(fake);
    assert.match(st, /API server: v1\.29\.7\n\s+node access: ClusterRole only/);
    assert.match(st, /quote helper rollout: surge/);
    assert.match(st, /provisioning: least privilege/);
    assert.match(st, /EPC limits: not enforced/);
    await disable(fake); // lists every kind it knows, the policies too: a 404 from this server is no error
    assert.deepEqual(managed(fake), []);
  });

  test("1.30: the policy and its binding are applied before the plugin; status says the plugin is scoped to its node", async () => {
    fake.version = { major: "1", minor: "30+", gitVersion: "v1.30.4-gke.1" };
    const out = await enable(fake);
    assert.match(out, /node access: ValidatingAdmissionPolicy: the device plugin may change only its own node's SGX labels and EPC capacity/);
    const applied = out.split("\n").filter((l) => l.endsWith(": applied"));
    const at = (s: string) => applied.findIndex((l) => l.startsWith(s));
    assert.ok(at("ValidatingAdmissionPolicyBinding confcom-sgx-plugin-node") >= 0 && at("ValidatingAdmissionPolicyBinding") < at("DaemonSet kube-system/sgx-plugin"));
    assert.ok(fake.find("ValidatingAdmissionPolicy", "confcom-sgx-plugin-node"));
    assert.match(await status(fake), /node access: ValidatingAdmissionPolicy: the device plugin may change only its own node/);
    // Someone deletes the policy: status no longer claims it.
    fake.objects.delete([...fake.objects.keys()].find((k) => k.includes("|ValidatingAdmissionPolicy||"))!);
    assert.match(await status(fake), /node access: ClusterRole only \(the ValidatingAdmissionPolicy is missing; run "confcom addon update"\)/);
    await update(fake, (c) => c);
    assert.ok(fake.find("ValidatingAdmissionPolicy", "confcom-sgx-plugin-node"), "update puts it back");
  });

  test("1.24: update replaces the quote helper in place and says why; --provision-all and --enforce-epc-limits show in status", async () => {
    fake.version = { major: "1", minor: "24", gitVersion: "v1.24.17" };
    const out = await update(fake, (c) => ({ ...c, provisionAll: true, enforceEpcLimits: true }));
    assert.match(out, /quote helper rollout: in place \(no DaemonSet surge before 1\.25\)/);
    assert.deepEqual(fake.find("DaemonSet", "sgx-quote-helper", NS)!.spec.updateStrategy.rollingUpdate, { maxSurge: 0, maxUnavailable: 1 });
    assert.ok(fake.find("DaemonSet", "sgx-plugin", NS)!.spec.template.spec.containers[0].args.includes("--provision-all"));
    assert.ok(fake.find("Deployment", "confcom-webhook", NS)!.spec.template.spec.containers[0].args.includes("--enforce-epc-limits"));
    const st = await status(fake);
    assert.match(st, /quote helper rollout: in place \(no DaemonSet surge before 1\.25\)/);
    assert.match(st, /provisioning: every EPC allocation hands \/dev\/sgx_provision \(--provision-all\)/);
    assert.match(st, /EPC limits: annotated for the sgx-epc NRI plugin \(--enforce-epc-limits\)/);
    fake.version = { major: "1", minor: "30", gitVersion: "v1.30.4" };
    await disable(fake);
    assert.deepEqual(managed(fake), []);
  });
});

describe("the CLI's --provision-all and --enforce-epc-limits: update keeps them until turned off", { concurrency: 1 }, () => {
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
  });
  after(() => fake.close());
  const cli = (...args: string[]) =>
    new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, [cliEntry, "addon", ...args, "--kubeconfig", fake.kubeconfigPath, "--no-wait"], { timeout: 40_000 }, (err, _out, stderr) => resolve({ code: err ? 1 : 0, stderr })),
    );
  const pluginArgs = () => fake.find("DaemonSet", "sgx-plugin", NS)!.spec.template.spec.containers[0].args as string[];
  const webhookArgs = () => fake.find("Deployment", "confcom-webhook", NS)!.spec.template.spec.containers[0].args as string[];

  test("enable with both, update without them keeps them, --no-... turns each off", async () => {
    assert.equal((await cli("enable", "--enable-sgxquotehelper", "--provision-all", "--enforce-epc-limits")).code, 0);
    assert.ok(pluginArgs().includes("--provision-all") && webhookArgs().includes("--enforce-epc-limits"));
    assert.equal((await cli("update", "--enable-sgxquotehelper")).code, 0);
    assert.ok(pluginArgs().includes("--provision-all") && webhookArgs().includes("--enforce-epc-limits"), "recorded values are kept");
    assert.equal((await cli("update", "--enable-sgxquotehelper", "--no-provision-all")).code, 0);
    assert.ok(!pluginArgs().includes("--provision-all") && webhookArgs().includes("--enforce-epc-limits"));
    assert.equal((await cli("update", "--enable-sgxquotehelper", "--no-enforce-epc-limits")).code, 0);
    assert.ok(!webhookArgs().includes("--enforce-epc-limits"));
    await disable(fake);
  });
});

describe("objects someone else took over are left alone", { concurrency: 1 }, () => {
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
  });
  after(() => fake.close());

  const takeOver = (kind: string, name: string, namespace?: string) => {
    const o = fake.find(kind, name, namespace)!;
    o.metadata.labels = { "app.kubernetes.io/managed-by": "helm" };
  };

  test("update leaves a stale recorded object that no longer carries our label", async () => {
    await enable(fake);
    takeOver("ServiceAccount", "sgx-quote-helper", NS);
    const out = await update(fake, (c) => ({ ...c, quoteHelperEnabled: false }));
    assert.match(out, /ServiceAccount kube-system\/sgx-quote-helper: left alone \(not labelled app.kubernetes.io\/managed-by=confcom\)/);
    assert.ok(fake.find("ServiceAccount", "sgx-quote-helper", NS), "still there");
    assert.equal(fake.find("DaemonSet", "sgx-quote-helper", NS), undefined, "what is still ours goes");
  });

  test("disable leaves a recorded object that no longer carries our label", async () => {
    takeOver("Service", "confcom-webhook", NS);
    const out = await disable(fake);
    assert.match(out, /Service kube-system\/confcom-webhook: left alone/);
    assert.ok(fake.find("Service", "confcom-webhook", NS));
    assert.deepEqual(managed(fake), []);
  });
});

describe("status shows each quote helper's build, from its /metrics through the pod proxy", { concurrency: 1 }, () => {
  let fake: FakeApiServer;
  const servers: http.Server[] = [];
  async function serve(body: string): Promise<string> {
    const s = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(body));
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }
  /** /metrics as prom-client writes it: the build_info gauge the quote helper exposes, among others. */
  async function helperMetrics(labels: Record<string, string>): Promise<string> {
    const registry = new Registry();
    new Gauge({ name: "confcom_quotehelper_requests_in_flight", help: "x", registers: [registry] }).set(0);
    new Gauge({ name: "confcom_quotehelper_build_info", help: "version", labelNames: Object.keys(labels), registers: [registry] }).set(labels, 1);
    return registry.metrics();
  }
  const pod = (name: string, node: string, phase = "Running") =>
    fake.seed({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: NS, labels: { "app.kubernetes.io/name": "sgx-quote-helper", "app.kubernetes.io/part-of": "confcom", "app.kubernetes.io/managed-by": "confcom" } },
      spec: { nodeName: node, containers: [{ name: "quote-helper", image: "x" }] },
      status: { phase, podIP: "10.244.0.9" },
    });

  before(async () => {
    fake = await FakeApiServer.start();
    await enable(fake);
    pod("sgx-quote-helper-a", "sgx-1");
    pod("sgx-quote-helper-b", "sgx-2");
    pod("sgx-quote-helper-b2", "sgx-2"); // mid-surge: two on one node
    pod("sgx-quote-helper-c", "sgx-3");
    pod("sgx-quote-helper-d", "sgx-4", "Pending");
    pod("sgx-quote-helper-e", "sgx-5");
    const a = await helperMetrics({ version: "0.2.0", backend: "dcap", backend_version: "1.21", qe_identity: "qe-svn-8" });
    fake.podEndpoints.set(`${NS}/sgx-quote-helper-a:9466`, await serve(a));
    fake.podEndpoints.set(`${NS}/sgx-quote-helper-b:9466`, await serve(await helperMetrics({ version: "0.1.0", backend: "simulated", backend_version: "sim-1", qe_identity: 'sim "qe"\u001b[31m' })));
    fake.podEndpoints.set(`${NS}/sgx-quote-helper-b2:9466`, await serve(await helperMetrics({ version: "0.2.0", backend: "simulated", backend_version: "sim-1", qe_identity: "sim-qe" })));
    fake.podEndpoints.set(`${NS}/sgx-quote-helper-c:9466`, await serve("# HELP other_metric x\nother_metric 1\n")); // an older helper
    // e: no endpoint: the API server answers 503
  });
  after(async () => {
    for (const s of servers) s.close();
    await fake.close();
  });

  test("one row per pod, by node: version, backend, its version and QE identity; absences explained", async () => {
    const st = await status(fake);
    const rows = st.split("\n");
    const at = rows.findIndex((l) => l.startsWith("Quote helpers"));
    assert.ok(at >= 0, st);
    const table = rows.slice(at + 1, at + 8).map((l) => l.trim().split(/\s{2,}/));
    assert.deepEqual(table[0], ["NODE", "POD", "VERSION", "BACKEND", "BACKEND VERSION", "QE IDENTITY", "NOTE"]);
    assert.deepEqual(table[1], ["sgx-1", "sgx-quote-helper-a", "0.2.0", "dcap", "1.21", "qe-svn-8"]);
    assert.deepEqual(table[2], ["sgx-2", "sgx-quote-helper-b", "0.1.0", "simulated", "sim-1", 'sim "qe"?[31m'], "label escapes decoded, control characters neutralised");
    assert.deepEqual(table[3], ["sgx-2", "sgx-quote-helper-b2", "0.2.0", "simulated", "sim-1", "sim-qe"]);
    assert.deepEqual(table[4], ["sgx-3", "sgx-quote-helper-c", "-", "-", "-", "-", "no build_info gauge (an older quote helper)"]);
    assert.deepEqual(table[5], ["sgx-4", "sgx-quote-helper-d", "-", "-", "-", "-", "Pending"]);
    assert.equal(table[6]![0], "sgx-5");
    assert.match(table[6]!.at(-1)!, /^metrics unreachable: .*503/);
    assert.ok(fake.requests.some((r) => r.path === "/api/v1/namespaces/kube-system/pods/sgx-quote-helper-a:9466/proxy/metrics"), "read through the pod proxy");
    assert.ok(!fake.requests.some((r) => r.path.includes("sgx-quote-helper-d:9466")), "a pod that is not running is not asked");
  });
});
