// enable/update/disable/status run as the real CLI against the fake API server over HTTPS.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { disableAddon, enableAddon, updateAddon } from "../../src/addon/cluster/operations.js";
import { AddonStateError } from "../../src/addon/cluster/recorded.js";
import { addonStatus } from "../../src/addon/cluster/status.js";
import { KubeClient } from "../../src/k8s/client.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { cliEntry } from "../support/paths.js";
import { RESOURCE, testConfig } from "./fixtures.js";

const NOT_ENABLED = 'Addon "confcom" is not enabled in this cluster.';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(fake: FakeApiServer, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliEntry, "addon", ...args, "--kubeconfig", fake.kubeconfigPath], { timeout: 40_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

// In process, for checks that need no second process: the same client and operations the CLI runs.
const connect = (fake: FakeApiServer) => KubeClient.connect({ kubeconfig: fake.kubeconfigPath });

async function disableInProcess(fake: FakeApiServer): Promise<void> {
  await disableAddon(await connect(fake), "kube-system", { waitMs: 20_000, pollMs: 100, print: () => {} });
}

const CONFIG = testConfig();

/** Runs enable in process, returning its output lines, or its error. */
async function enableInProcess(fake: FakeApiServer, waitMs: number): Promise<{ lines: string[]; error?: Error }> {
  const lines: string[] = [];
  try {
    await enableAddon(await connect(fake), CONFIG, { waitMs, pollMs: 100, print: (l) => lines.push(l) });
    return { lines };
  } catch (error) {
    return { lines, error: error as Error };
  }
}

const managed = (fake: FakeApiServer) =>
  [...fake.objects.values()].filter((o) => o.metadata.labels?.["app.kubernetes.io/managed-by"] === "confcom").map((o) => `${o.kind}/${o.metadata.name}`).sort();

function caBundle(fake: FakeApiServer): string {
  return fake.find("MutatingWebhookConfiguration", "confcom-sgx-mutator")!.webhooks[0].clientConfig.caBundle;
}

describe("addon against an API server", { concurrency: 2 }, () => {
describe("enable, update, status, disable", { concurrency: 1 }, () => {
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
    fake.addNode("sgx-1", { "sgx.intel.com/capable": "true" }, { resource: RESOURCE, capacity: "16384", allocatable: "16376" });
    fake.addNode("plain-1", {});
    fake.seed({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "someone-elses", namespace: "kube-system" }, data: { a: "b" } });
    fake.seed({ apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "kube-proxy", namespace: "kube-system", labels: { "k8s-app": "kube-proxy" } }, spec: {} });
    fake.seed({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "view-nodes", labels: { "app.kubernetes.io/part-of": "confcom" } }, rules: [] });
  });
  after(() => fake.close());

  test("update before enable fails with AKS's exact message", async () => {
    const r = await cli(fake, "update", "--enable-sgxquotehelper");
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `confcom: ${NOT_ENABLED}\n`);
    assert.ok(!fake.requests.some((q) => q.method === "PATCH"), "nothing was applied");
  });

  test("enable applies every object by server-side apply and waits for the rollout", async () => {
    const r = await cli(fake, "enable", "--wait", "20s");
    assert.equal(r.code, 0, r.stderr);
    const patches = fake.requests.filter((q) => q.method === "PATCH");
    assert.ok(patches.length >= 10);
    for (const p of patches) {
      assert.equal(p.contentType, "application/apply-patch+yaml");
      assert.match(p.path, /\?fieldManager=confcom&force=true$/);
    }
    assert.deepEqual(managed(fake), [
      "ClusterRole/confcom:sgx-plugin",
      "ClusterRoleBinding/confcom:sgx-plugin",
      "ConfigMap/confcom-addon-config",
      "DaemonSet/sgx-plugin",
      "Deployment/confcom-webhook",
      "MutatingWebhookConfiguration/confcom-sgx-mutator",
      "Secret/confcom-webhook-tls",
      "Service/confcom-webhook",
      "ServiceAccount/confcom-webhook",
      "ServiceAccount/sgx-plugin",
      "ValidatingAdmissionPolicy/confcom-sgx-plugin-node",
      "ValidatingAdmissionPolicyBinding/confcom-sgx-plugin-node",
      "ValidatingWebhookConfiguration/confcom-sgx-validator",
    ]);
    assert.equal(fake.find("ConfigMap", "confcom-addon-config", "kube-system")!.data.ACCSGXQuoteHelperEnabled, "false");
    assert.match(r.stdout, /DaemonSet kube-system\/sgx-plugin: rolled out \(1\/1 nodes updated, 1 ready, 1 available\)/);
    assert.match(r.stdout, /Deployment kube-system\/confcom-webhook: rolled out/);
    assert.match(r.stdout, /Addon "confcom" is enabled \(ACCSGXQuoteHelperEnabled=false\)/);
    // The caBundle is the CA that signed the serving certificate in the Secret (stored as data, base64).
    const secret = fake.find("Secret", "confcom-webhook-tls", "kube-system")!;
    const leaf = new X509Certificate(Buffer.from(secret.data["tls.crt"], "base64"));
    assert.ok(leaf.verify(new X509Certificate(Buffer.from(caBundle(fake), "base64")).publicKey));
    assert.equal(leaf.checkHost("confcom-webhook.kube-system.svc"), "confcom-webhook.kube-system.svc");
  });

  test("enable again fails as AKS does, telling to disable first", async () => {
    const before = fake.requests.filter((q) => q.method === "PATCH").length;
    const r = await enableInProcess(fake, 1000);
    assert.ok(r.error instanceof AddonStateError);
    assert.match(r.error.message, /already enabled.*Run "confcom addon disable" before enabling it again/);
    assert.equal(fake.requests.filter((q) => q.method === "PATCH").length, before);
  });

  test("update --enable-sgxquotehelper turns the quote helper on and keeps the webhook's CA", async () => {
    const ca = caBundle(fake);
    const r = await cli(fake, "update", "--enable-sgxquotehelper", "--wait", "20s");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /quote helper is turned on/);
    assert.ok(fake.find("DaemonSet", "sgx-quote-helper", "kube-system"));
    assert.equal(fake.find("ConfigMap", "confcom-addon-config", "kube-system")!.data.ACCSGXQuoteHelperEnabled, "true");
    assert.equal(caBundle(fake), ca);
    assert.match(r.stdout, /DaemonSet kube-system\/sgx-quote-helper: rolled out/);
  });

  test("status shows the config, each DaemonSet's rollout and the SGX nodes' EPC", async () => {
    const out = (await addonStatus(await connect(fake), "kube-system")).join("\n");
    assert.match(out, /ACCSGXQuoteHelperEnabled: true/);
    assert.match(out, /DaemonSet kube-system\/sgx-plugin: rolled out/);
    assert.match(out, /DaemonSet kube-system\/sgx-quote-helper: rolled out/);
    assert.match(out, /NODE\s+CAPACITY\s+ALLOCATABLE\n\s+sgx-1\s+16384\s+16376/);
    assert.doesNotMatch(out, /plain-1/);
  });

  test("update without the flag turns the quote helper off and says so; settings not given are kept", async () => {
    const r = await cli(fake, "update", "--image", "registry.example/confcom:9.9.9", "--wait", "20s");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /turned off: update without --enable-sgxquotehelper disables it/);
    assert.equal(fake.find("DaemonSet", "sgx-quote-helper", "kube-system"), undefined);
    assert.equal(fake.find("ServiceAccount", "sgx-quote-helper", "kube-system"), undefined);
    assert.equal(fake.find("ConfigMap", "confcom-addon-config", "kube-system")!.data.ACCSGXQuoteHelperEnabled, "false");
    const ds = fake.find("DaemonSet", "sgx-plugin", "kube-system")!;
    assert.equal(ds.spec.template.spec.containers[0].image, "registry.example/confcom:9.9.9");
    assert.ok(ds.metadata.generation >= 2, "the spec change bumped the generation");
    assert.ok(fake.find("Deployment", "confcom-webhook", "kube-system"), "the webhook stays");
    assert.equal(fake.find("Deployment", "confcom-webhook", "kube-system")!.spec.template.spec.containers[0].image, "registry.example/confcom:9.9.9");
  });

  test("disable removes every object it created, waits for deletion, and nothing else", async () => {
    fake.deletionDelayMs = 300;
    const r = await cli(fake, "disable", "--wait", "20s");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(managed(fake), [], "no managed object is left, even mid-deletion");
    assert.ok(fake.find("ConfigMap", "someone-elses", "kube-system"));
    assert.ok(fake.find("DaemonSet", "kube-proxy", "kube-system"));
    assert.ok(fake.find("ClusterRole", "view-nodes"), "part-of alone is not ownership");
    assert.ok(fake.find("Node", "sgx-1") && fake.find("Namespace", "kube-system"));
    assert.match(r.stdout, /MutatingWebhookConfiguration confcom-sgx-mutator: deleting[\s\S]*DaemonSet kube-system\/sgx-plugin: deleting/);
    assert.match(r.stdout, /Addon "confcom" is disabled\./);
    fake.deletionDelayMs = 0;
  });

  test("status and disable on a cluster without the add-on give the exact message", async () => {
    const client = await KubeClient.connect({ kubeconfig: fake.kubeconfigPath });
    await assert.rejects(addonStatus(client, "kube-system"), (e: Error) => e instanceof AddonStateError && e.message === NOT_ENABLED);
    await assert.rejects(disableAddon(client, "kube-system", { print: () => {} }), (e: Error) => e instanceof AddonStateError && e.message === NOT_ENABLED);
  });
});

describe("rollout waiting", { concurrency: 1 }, () => {
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
  });
  after(() => fake.close());

  test("a DaemonSet with no matching node (desired 0) counts as rolled out", async () => {
    fake.addNode("plain", {});
    const r = await enableInProcess(fake, 20_000);
    assert.equal(r.error, undefined);
    const out = r.lines.join("\n");
    assert.match(out, /DaemonSet kube-system\/sgx-plugin: rolled out \(no SGX node matches \(desired 0\)/);
    assert.match(out, /DaemonSet kube-system\/sgx-quote-helper: rolled out \(no SGX node matches/);
    assert.match((await addonStatus(await connect(fake), "kube-system")).join("\n"), /none advertises the resource yet/);
    await disableInProcess(fake);
  });

  test("a stuck rollout times out with the workloads named; progress is printed as it changes", async () => {
    fake.rolloutMode = "stuck";
    const r = await enableInProcess(fake, 1000);
    assert.match(r.error?.message ?? "", /timed out after 1s waiting for the rollout of DaemonSet kube-system\/sgx-plugin \(0\/1 nodes updated/);
    const progress = r.lines.filter((l) => l.startsWith("DaemonSet kube-system/sgx-plugin: rolling out"));
    assert.deepEqual(progress, ["DaemonSet kube-system/sgx-plugin: rolling out (0/1 nodes updated, 0 ready, 0 available)"], "one line per change, not per poll");
    // The record was written first: the half-finished add-on is enabled and can be disabled.
    await disableInProcess(fake);
    assert.deepEqual(managed(fake), []);
  });

  test("waiting ends when the controller reports the rollout done", async () => {
    fake.rolloutMode = "stuck";
    const run = enableInProcess(fake, 30_000);
    const waitFor = async (cond: () => boolean) => {
      for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    // Once everything is applied (the validating configuration comes last) and the waiting has
    // started (a GET of a DaemonSet after that), the controller catches up.
    await waitFor(() => fake.find("ValidatingWebhookConfiguration", "confcom-sgx-validator") !== undefined);
    const mark = fake.requests.length;
    await waitFor(() => fake.requests.slice(mark).some((q) => q.method === "GET" && q.path.includes("/daemonsets/")));
    fake.setStatus("DaemonSet", "sgx-plugin", "kube-system", { desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberReady: 1, numberAvailable: 1 });
    fake.setStatus("DaemonSet", "sgx-quote-helper", "kube-system", { desiredNumberScheduled: 1, updatedNumberScheduled: 1, numberReady: 1, numberAvailable: 1 });
    fake.setStatus("Deployment", "confcom-webhook", "kube-system", { replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
    const r = await run;
    assert.equal(r.error, undefined);
    assert.match(r.lines.join("\n"), /sgx-plugin: rolling out[\s\S]*sgx-plugin: rolled out \(1\/1 nodes updated/);
    fake.rolloutMode = "healthy";
    await disableInProcess(fake);
  });
});

describe("cluster connection", { concurrency: 1 }, () => {
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
  });
  after(() => fake.close());

  test("--context selects the kubeconfig context", async () => {
    const elsewhere = await KubeClient.connect({ kubeconfig: fake.kubeconfigPath, context: "elsewhere" });
    await assert.rejects(addonStatus(elsewhere, "kube-system"), /cannot reach the API server at https:\/\/127\.0\.0\.1:1/);
    await assert.rejects(KubeClient.connect({ kubeconfig: fake.kubeconfigPath, context: "nope" }), /context "nope" is not in the kubeconfig/);
    const here = await KubeClient.connect({ kubeconfig: fake.kubeconfigPath, context: "fake" });
    await assert.rejects(addonStatus(here, "kube-system"), new RegExp(NOT_ENABLED.replace(/[".]/g, "\\$&")));
  });

  test("enable refuses to take over a same-named object it did not create, and applies nothing", async () => {
    const legacy = fake.seed({ apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "sgx-plugin", namespace: "kube-system", labels: { app: "sgx-plugin" } }, spec: { legacy: true } });
    const r = await enableInProcess(fake, 1000);
    assert.match(r.error?.message ?? "", /not enabling: DaemonSet kube-system\/sgx-plugin already exists and is not managed by confcom/);
    assert.ok(!fake.requests.some((q) => q.method === "PATCH"));
    assert.deepEqual(fake.find("DaemonSet", "sgx-plugin", "kube-system"), legacy);
    fake.objects.delete([...fake.objects.keys()].find((k) => k.includes("|DaemonSet|kube-system|sgx-plugin"))!);
  });

  test("update to an external webhook removes the in-cluster one and registers the URL", async () => {
    assert.equal((await enableInProcess(fake, 20_000)).error, undefined);
    const lines: string[] = [];
    const external = { kind: "url" as const, url: "https://hooks.example.com/sgx", caBundlePem: fake.caPem };
    await updateAddon(await connect(fake), (c) => ({ ...c, webhook: external }), "kube-system", { waitMs: 20_000, pollMs: 100, print: (l) => lines.push(l) });
    for (const [kind, name] of [["Deployment", "confcom-webhook"], ["Service", "confcom-webhook"], ["Secret", "confcom-webhook-tls"], ["ServiceAccount", "confcom-webhook"]]) {
      assert.equal(fake.find(kind!, name!, "kube-system"), undefined, `${kind} ${name} is removed`);
    }
    const hook = fake.find("MutatingWebhookConfiguration", "confcom-sgx-mutator")!.webhooks[0];
    assert.equal(hook.clientConfig.url, "https://hooks.example.com/sgx/mutate");
    assert.equal(hook.clientConfig.service, undefined, "the service reference the record no longer applies is dropped (server-side apply)");
    const recorded = JSON.parse(fake.find("ConfigMap", "confcom-addon-config", "kube-system")!.data["objects.json"]) as { kind: string }[];
    assert.ok(!recorded.some((r) => r.kind === "Deployment"));
    await disableInProcess(fake);
    assert.deepEqual(managed(fake), []);
    fake.requests.length = 0;
  });

  test("enable into a namespace that does not exist is refused before anything is applied", async () => {
    const lines: string[] = [];
    await assert.rejects(enableAddon(await connect(fake), { ...CONFIG, namespace: "confcom-system" }, { print: (l) => lines.push(l) }), /namespace "confcom-system" does not exist/);
    assert.ok(!fake.requests.some((q) => q.method === "PATCH"));
  });
});
});
