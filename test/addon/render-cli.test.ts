// `confcom addon render` as a user runs it: output kubectl takes, and flag errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { issueWebhookTls } from "../../src/addon/tls.js";
import { cliEntry } from "../support/paths.js";
import { validateObject } from "./schema.js";

function render(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliEntry, "addon", "render", ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("multi-document YAML with flags applied, every document valid", async () => {
  const r = await render(
    "--enable-sgxquotehelper",
    "--namespace", "confcom",
    "--image", "registry.example/confcom:1.2.3",
    "--node-label", "example.com/sgx=yes",
    "--instance-types", "",
    "--toleration", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule",
  );
  assert.equal(r.code, 0, r.stderr);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { namespace?: string }; spec?: any });
  assert.equal(docs.length, 15);
  assert.doesNotMatch(r.stdout, /^\s*(- )?[&*]\w+/m, "plain YAML, no anchors or aliases");
  for (const d of docs) validateObject(d);
  const ds = docs.filter((d) => d.kind === "DaemonSet");
  assert.equal(ds.length, 2);
  for (const d of ds) {
    const pod = d.spec.template.spec;
    assert.equal(d.metadata.namespace, "confcom");
    assert.equal(pod.containers[0].image, "registry.example/confcom:1.2.3");
    const terms = pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    assert.equal(terms.length, 1, "one label, no instance types");
    assert.deepEqual(terms[0].matchExpressions.at(-1), { key: "example.com/sgx", operator: "In", values: ["yes"] });
    assert.deepEqual(pod.tolerations.at(-1), { key: "kubernetes.azure.com/scalesetpriority", operator: "Equal", value: "spot", effect: "NoSchedule" });
  }
});

test("--kube-version: the node policy from 1.30, the quote helper's surge rollout from 1.25; every document valid", async () => {
  const kinds = async (...args: string[]) => {
    const r = await render("--enable-sgxquotehelper", "-o", "json", ...args);
    assert.equal(r.code, 0, r.stderr);
    const items = (JSON.parse(r.stdout) as { items: any[] }).items;
    for (const o of items) validateObject(o);
    const qh = items.find((o) => o.kind === "DaemonSet" && o.metadata.name === "sgx-quote-helper");
    return { kinds: items.map((o) => o.kind as string), surge: qh.spec.updateStrategy.rollingUpdate.maxSurge as number };
  };
  for (const [version, policy, surge] of [["1.30", true, 1], ["v1.31.2", true, 1], ["1.29", false, 1], ["1.25", false, 1], ["1.24", false, 0]] as const) {
    const r = await kinds("--kube-version", version);
    assert.equal(r.kinds.includes("ValidatingAdmissionPolicy") && r.kinds.includes("ValidatingAdmissionPolicyBinding"), policy, version);
    assert.equal(r.surge, surge, version);
  }
  assert.ok((await kinds()).kinds.includes("ValidatingAdmissionPolicy"), "the default is a current cluster");
});

test("--webhook-url with --webhook-ca registers an external webhook", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "confcom-render-"));
  const ca = path.join(dir, "ca.pem");
  writeFileSync(ca, (await issueWebhookTls({ dnsNames: ["hooks.example.com"] })).caPem);
  const r = await render("-o", "json", "--webhook-url", "https://hooks.example.com/sgx", "--webhook-ca", ca);
  assert.equal(r.code, 0, r.stderr);
  const items = (JSON.parse(r.stdout) as { items: { kind: string; webhooks?: any[] }[] }).items;
  assert.ok(!items.some((o) => o.kind === "Deployment"));
  assert.equal(items.find((o) => o.kind === "MutatingWebhookConfiguration")!.webhooks![0].clientConfig.url, "https://hooks.example.com/sgx/mutate");
});

test("bad flags exit 2 with the flag named", async () => {
  const cases: [string[], RegExp][] = [
    [["-o", "xml"], /--output must be yaml or json/],
    [["--resource-name", "epc"], /--resource-name: "epc" is not domain-qualified/],
    [["--namespace", "Kube_System"], /--namespace: "Kube_System" is not a valid namespace name/],
    [["--webhook-url", "http://x.example/"], /--webhook-url and --webhook-ca go together/],
    [["--webhook-url", "http://x.example/", "--webhook-ca", "/nonexistent"], /--webhook-url must be https/],
    [["--toleration", "a:Sometimes"], /--toleration: "a:Sometimes" is not key/],
    [["--node-label", "=x"], /--node-label: "=x" is not key or key=value/],
    [["--node-label", "a=b", "--instance-types", "", "--quote-helper-epc-mib", "0"], /--quote-helper-epc-mib must be at least 1/],
    [["--kube-version", "latest"], /--kube-version: "latest" is not a Kubernetes version/],
  ];
  for (const [args, re] of cases) {
    const r = await render(...args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stdout, "");
  }
});
