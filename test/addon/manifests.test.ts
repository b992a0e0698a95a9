import { spawnSync } from "node:child_process";
import { DAEMON_NODE_FLAGS, DAEMON_NODE_OPTIONS, NODE_FLAGS_ENV, WEBHOOK_NODE_OPTIONS } from "../../src/common/node-options.js";
import { literalEnv } from "../support/container-env.js";
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import type {
  V1Deployment,
  V1DaemonSet,
  V1MutatingWebhookConfiguration,
  V1Secret,
  V1ValidatingAdmissionPolicy,
  V1ValidatingAdmissionPolicyBinding,
  V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import type { AddonConfig } from "../../src/addon/config.js";
import { featuresOf } from "../../src/addon/features.js";
import { renderAddon, type AddonObject } from "../../src/addon/manifests/index.js";
import { issueWebhookTls } from "../../src/addon/tls.js";
import { RESOURCE, testConfig } from "./fixtures.js";
import { validateObject } from "./schema.js";


const tls = await issueWebhookTls({ dnsNames: ["confcom-webhook.kube-system.svc"] });
const find = <T>(objs: AddonObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} is rendered`);
  return o as unknown as T;
};

test("every rendered object is valid against the Kubernetes OpenAPI schema", () => {
  for (const config of [testConfig(), testConfig({ quoteHelperEnabled: false, namespace: "confcom", extraTolerations: [{ key: "spot", operator: "Exists" }] })]) {
    for (const o of renderAddon(config, tls)) assert.doesNotThrow(() => validateObject(o), `${o.kind} ${o.metadata.name}`);
  }
});

test("the schema validator rejects a malformed DaemonSet (the check can fail)", () => {
  const ds = structuredClone(find<V1DaemonSet>(renderAddon(testConfig(), tls), "DaemonSet", "sgx-plugin"));
  (ds.spec!.template.spec!.containers[0]!.resources!.limits as Record<string, unknown>).cpu = { not: "a quantity" };
  assert.throws(() => validateObject(ds as never), /limits\/cpu/);
});

test("every object carries the add-on's labels", () => {
  for (const o of renderAddon(testConfig(), tls)) {
    assert.equal(o.metadata.labels?.["app.kubernetes.io/managed-by"], "confcom", `${o.kind} ${o.metadata.name}`);
    assert.equal(o.metadata.labels?.["app.kubernetes.io/part-of"], "confcom");
    assert.ok(o.metadata.labels?.["app.kubernetes.io/name"]);
  }
});

test("both DaemonSets run only on SGX nodes, hardened, as node-critical; the plugin is replaced in place, the quote helper by surge", () => {
  const objs = renderAddon(testConfig({ extraTolerations: [{ key: "kubernetes.azure.com/scalesetpriority", operator: "Equal", value: "spot", effect: "NoSchedule" }] }), tls);
  for (const name of ["sgx-plugin", "sgx-quote-helper"]) {
    const ds = find<V1DaemonSet>(objs, "DaemonSet", name);
    assert.equal(ds.metadata?.namespace, "kube-system");
    const pod = ds.spec!.template.spec!;
    assert.equal(pod.priorityClassName, "system-node-critical");
    const surge = name === "sgx-quote-helper" ? { maxSurge: 1, maxUnavailable: 0 } : { maxSurge: 0, maxUnavailable: 1 };
    assert.deepEqual(ds.spec!.updateStrategy, { type: "RollingUpdate", rollingUpdate: surge });
    const terms = pod.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms;
    const keys = terms.map((t) => t.matchExpressions!.map((e) => `${e.key} ${e.operator} ${(e.values ?? []).join("|")}`));
    assert.ok(keys.some((k) => k.includes("sgx.intel.com/capable In true")));
    assert.ok(keys.some((k) => k.includes("intel.feature.node.kubernetes.io/sgx In true")));
    assert.ok(keys.some((k) => k.some((e) => e.startsWith("node.kubernetes.io/instance-type In ") && e.includes("Standard_DC4s_v3"))));
    for (const t of keys) assert.ok(t.includes("kubernetes.io/os In linux"), "every term also requires linux");
    assert.deepEqual(pod.tolerations![0], { key: RESOURCE, operator: "Exists", effect: "NoSchedule" });
    assert.equal(pod.tolerations![1]!.key, "kubernetes.azure.com/scalesetpriority");
    for (const c of pod.containers) {
      const sc = c.securityContext!;
      assert.equal(sc.readOnlyRootFilesystem, true);
      assert.deepEqual(sc.capabilities, { drop: ["ALL"] });
      assert.equal(sc.privileged, false);
      assert.equal(sc.allowPrivilegeEscalation, false);
      assert.ok(c.resources?.requests?.cpu && c.resources?.limits?.memory);
      // The socket keeper only holds an fd: no port, no HTTP probes (see the quote helper's test).
      if (c.name === "socket-keeper") continue;
      assert.equal(c.livenessProbe?.httpGet?.path, "/healthz");
      assert.equal(c.readinessProbe?.httpGet?.path, "/readyz");
      const metricsPort = c.ports!.find((p) => p.name === "metrics")!.containerPort;
      assert.equal(c.livenessProbe?.httpGet?.port, metricsPort);
      assert.ok(c.args!.some((a) => a.startsWith("--metrics-addr=") && a.endsWith(`:${metricsPort}`)), "the daemon serves its probes on the probed port");
    }
    for (const v of pod.volumes ?? []) assert.notEqual(v.hostPath?.path, "/dev/sgx", "never /dev/sgx as a directory");
  }
});

test("the plugin mounts the kubelet directory, the host's /dev (a Directory, read-only: no type check can block the pod) and NFD's directory", () => {
  const ds = find<V1DaemonSet>(renderAddon(testConfig(), tls), "DaemonSet", "sgx-plugin");
  const pod = ds.spec!.template.spec!;
  const hostPaths = Object.fromEntries(pod.volumes!.map((v) => [v.hostPath!.path, v.hostPath!.type]));
  assert.deepEqual(hostPaths, {
    "/var/lib/kubelet/device-plugins": "Directory",
    "/dev": "Directory",
    "/etc/kubernetes/node-feature-discovery": "DirectoryOrCreate",
  });
  const c = pod.containers[0]!;
  assert.deepEqual(c.volumeMounts!.find((m) => m.name === "nfd"), { name: "nfd", mountPath: "/etc/kubernetes/node-feature-discovery" }, "host-root / finds features.d there");
  assert.deepEqual(
    c.env,
    [
      { name: "NODE_OPTIONS", value: "--max-semi-space-size=1 --max-old-space-size=64" },
      { name: "CONFCOM_NODE_FLAGS", value: "--no-concurrent-recompilation" },
      { name: "GLIBC_TUNABLES", value: "glibc.malloc.trim_threshold=131072:glibc.malloc.arena_max=1" },
      { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
    ],
    "the node daemons' V8 options, fixed malloc thresholds and one arena, and its node, to label and to publish EPC capacity on",
  );
  assert.ok(c.args!.includes("--epc-mode=auto"));
  assert.ok(c.args!.includes("--enclave-devices=110"));
  assert.equal(c.securityContext!.runAsUser, 0, "root to create its socket in the kubelet's directory");
  assert.ok(c.args!.includes(`--resource-name=${RESOURCE}`));
  assert.equal(pod.serviceAccountName, "sgx-plugin");
});

test("the quote helper requests EPC as request = limit and shares /var/run/aesmd with the host", () => {
  const ds = find<V1DaemonSet>(renderAddon(testConfig({ quoteHelperEpcMiB: 12 }), tls), "DaemonSet", "sgx-quote-helper");
  const pod = ds.spec!.template.spec!;
  const c = pod.containers[0]!;
  assert.equal(c.resources!.requests![RESOURCE], "12");
  assert.equal(c.resources!.limits![RESOURCE], "12");
  // its namespace is skipped by the webhook, so it names its enclave device itself (both EPC modes)
  assert.equal(c.resources!.requests!["kubernetes.azure.com/sgx_enclave"], "1");
  assert.equal(c.resources!.limits!["kubernetes.azure.com/sgx_enclave"], "1");
  assert.deepEqual(pod.volumes, [
    { name: "aesmd", hostPath: { path: "/var/run/aesmd", type: "DirectoryOrCreate" } },
    { name: "keeper", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
  ]);
  const mounts = [
    { name: "aesmd", mountPath: "/var/run/aesmd" },
    { name: "keeper", mountPath: "/run/confcom-keeper" },
  ];
  assert.deepEqual(c.volumeMounts, mounts);
  assert.ok(c.args!.includes("--socket=/var/run/aesmd/aesm.socket"));
  // The socket keeper beside it holds the listening socket across helper restarts (pod-local control socket).
  assert.ok(c.args!.includes("--socket-from-keeper=/run/confcom-keeper/keeper.sock"));
  const keeper = pod.containers.find((k) => k.name === "socket-keeper")!;
  assert.deepEqual(keeper.args, ["quote-helper", "keeper", "--socket=/var/run/aesmd/aesm.socket", "--socket-mode=0777", "--control=/run/confcom-keeper/keeper.sock"]);
  assert.deepEqual(keeper.volumeMounts, mounts);
  assert.equal(keeper.resources!.limits!.memory, "128Mi");
  assert.equal(keeper.resources!.requests![RESOURCE], undefined, "the keeper needs no EPC");
  assert.equal(keeper.securityContext!.readOnlyRootFilesystem, true);
  const env = [
    { name: "NODE_OPTIONS", value: "--max-semi-space-size=1 --max-old-space-size=64" },
    { name: "CONFCOM_NODE_FLAGS", value: "--no-concurrent-recompilation" },
    { name: "GLIBC_TUNABLES", value: "glibc.malloc.trim_threshold=131072" },
  ];
  assert.deepEqual(c.env, env, "the node daemons' V8 options and fixed malloc thresholds (per-thread arenas: the helper has workers)");
  assert.deepEqual(keeper.env, env, "the keeper runs as the helper does");
  assert.equal(pod.automountServiceAccountToken, false, "the quote helper needs no API access");
});

test("RBAC: the plugin may get/patch nodes and patch nodes/status, nothing more; the quote helper has none", () => {
  const objs = renderAddon(testConfig(), tls);
  const role = find<{ rules: unknown }>(objs, "ClusterRole", "confcom:sgx-plugin");
  assert.deepEqual(role.rules, [
    { apiGroups: [""], resources: ["nodes"], verbs: ["get", "patch"] },
    { apiGroups: [""], resources: ["nodes/status"], verbs: ["patch"] },
  ]);
  const binding = find<{ subjects: unknown }>(objs, "ClusterRoleBinding", "confcom:sgx-plugin");
  assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "sgx-plugin", namespace: "kube-system" }]);
  assert.equal(objs.filter((o) => o.kind === "ClusterRole" || o.kind === "Role").length, 1);
});

test("the quote helper is rendered only when enabled", () => {
  const names = (c: AddonConfig) => renderAddon(c, tls).map((o) => `${o.kind}/${o.metadata.name}`);
  assert.ok(names(testConfig()).includes("DaemonSet/sgx-quote-helper"));
  const off = names(testConfig({ quoteHelperEnabled: false }));
  assert.ok(!off.some((n) => n.includes("sgx-quote-helper")));
  const cm = renderAddon(testConfig({ quoteHelperEnabled: false }), tls)[0]!;
  assert.equal((cm as { data?: Record<string, string> }).data?.ACCSGXQuoteHelperEnabled, "false");
});

test("webhook configurations: Ignore, no side effects, v1, pod CREATE, kube-system skipped, caBundle trusts the serving cert", () => {
  const config = testConfig({ namespace: "confcom-system" });
  const tlsNs = tls;
  const objs = renderAddon(config, tlsNs);
  const mutating = find<V1MutatingWebhookConfiguration>(objs, "MutatingWebhookConfiguration", "confcom-sgx-mutator");
  const validating = find<V1ValidatingWebhookConfiguration>(objs, "ValidatingWebhookConfiguration", "confcom-sgx-validator");
  assert.equal(mutating.webhooks![0]!.reinvocationPolicy, "IfNeeded");
  for (const [hook, path] of [[mutating.webhooks![0]!, "/mutate"], [validating.webhooks![0]!, "/validate"]] as const) {
    assert.equal(hook.failurePolicy, "Ignore");
    assert.equal(hook.sideEffects, "None");
    assert.deepEqual(hook.admissionReviewVersions, ["v1"]);
    assert.deepEqual(hook.rules, [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"], scope: "Namespaced" }]);
    assert.deepEqual(hook.namespaceSelector, { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "confcom-system"] }] });
    assert.deepEqual(hook.clientConfig.service, { name: "confcom-webhook", namespace: "confcom-system", path, port: 443 });
    const ca = new X509Certificate(Buffer.from(hook.clientConfig.caBundle!, "base64"));
    const secret = find<V1Secret>(objs, "Secret", "confcom-webhook-tls");
    const leaf = new X509Certificate(Buffer.from(secret.data!["tls.crt"]!, "base64"));
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), "the caBundle signed the serving certificate");
  }
});

test("the webhook adds the plugin's enclave resource, the one the plugin advertises", () => {
  const dep = find<V1Deployment>(renderAddon(testConfig(), tls), "Deployment", "confcom-webhook");
  const args = dep.spec!.template.spec!.containers[0]!.args!;
  assert.ok(args.includes(`--resource-name=${RESOURCE}`));
  assert.ok(args.includes("--enclave-resource-name=kubernetes.azure.com/sgx_enclave"));
});

test("the serving certificate names the Service", async () => {
  const t = await issueWebhookTls({ dnsNames: ["confcom-webhook.ns1.svc", "confcom-webhook.ns1"] });
  const leaf = new X509Certificate(t.certPem);
  assert.match(leaf.subjectAltName ?? "", /DNS:confcom-webhook\.ns1\.svc/);
  assert.equal(leaf.checkHost("confcom-webhook.ns1.svc"), "confcom-webhook.ns1.svc");
  assert.equal(leaf.checkHost("other.ns1.svc"), undefined);
  assert.equal(new X509Certificate(t.caPem).ca, true);
});

test("--webhook-url mode registers the external URL and deploys no webhook", () => {
  const pem = tls.caPem;
  const objs = renderAddon(testConfig({ webhook: { kind: "url", url: "https://hooks.example.com/sgx/", caBundlePem: pem } }));
  assert.ok(!objs.some((o) => o.kind === "Deployment" || o.kind === "Service" || o.kind === "Secret"));
  const m = find<V1MutatingWebhookConfiguration>(objs, "MutatingWebhookConfiguration", "confcom-sgx-mutator");
  assert.deepEqual(m.webhooks![0]!.clientConfig, { url: "https://hooks.example.com/sgx/mutate", caBundle: Buffer.from(pem).toString("base64") });
  const v = find<V1ValidatingWebhookConfiguration>(objs, "ValidatingWebhookConfiguration", "confcom-sgx-validator");
  assert.equal(v.webhooks![0]!.clientConfig.url, "https://hooks.example.com/sgx/validate");
  for (const o of objs) assert.doesNotThrow(() => validateObject(o));
});

test("an in-cluster webhook cannot be rendered without its TLS material", () => {
  assert.throws(() => renderAddon(testConfig()), /TLS/);
});

test("least privilege for /dev/sgx_provision: the plugin serves the provision resource, the quote helper requests one; --provision-all is passed through", () => {
  for (const provisionAll of [false, true]) {
    const objs = renderAddon(testConfig({ provisionAll }), tls);
    const args = find<V1DaemonSet>(objs, "DaemonSet", "sgx-plugin").spec!.template.spec!.containers[0]!.args!;
    assert.ok(args.includes("--provision-devices=110"), "a count of the provision resource, as for enclave devices");
    assert.equal(args.includes("--provision-all"), provisionAll);
    const qh = find<V1DaemonSet>(objs, "DaemonSet", "sgx-quote-helper").spec!.template.spec!.containers[0]!.resources!;
    assert.equal(qh.requests!["kubernetes.azure.com/sgx_provision"], "1");
    assert.equal(qh.limits!["kubernetes.azure.com/sgx_provision"], "1");
  }
});

test("the quote helper's drain fits in its grace period (read timeout 5 s, a full queue, QE load)", () => {
  const ds = find<V1DaemonSet>(renderAddon(testConfig(), tls), "DaemonSet", "sgx-quote-helper");
  assert.equal(ds.spec!.template.spec!.terminationGracePeriodSeconds, 30);
});

test("before 1.25 the quote helper is replaced in place; before 1.30 there is no node policy", () => {
  const old = renderAddon(testConfig(), tls, featuresOf({ major: 1, minor: 24 }));
  assert.deepEqual(find<V1DaemonSet>(old, "DaemonSet", "sgx-quote-helper").spec!.updateStrategy, { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
  assert.ok(!old.some((o) => o.kind.startsWith("ValidatingAdmissionPolicy")));
  for (const o of old) assert.doesNotThrow(() => validateObject(o));
  const v129 = renderAddon(testConfig(), tls, featuresOf({ major: 1, minor: 29 }));
  assert.deepEqual(find<V1DaemonSet>(v129, "DaemonSet", "sgx-quote-helper").spec!.updateStrategy!.rollingUpdate, { maxSurge: 1, maxUnavailable: 0 });
  assert.ok(!v129.some((o) => o.kind.startsWith("ValidatingAdmissionPolicy")));
});

test("the webhook's heap is sized to its 192 Mi limit; --enforce-epc-limits reaches its flags", () => {
  for (const enforceEpcLimits of [false, true]) {
    const c = find<V1Deployment>(renderAddon(testConfig({ enforceEpcLimits }), tls), "Deployment", "confcom-webhook").spec!.template.spec!.containers[0]!;
    assert.equal(c.resources!.limits!.memory, "192Mi");
    assert.deepEqual(c.env, [{ name: "NODE_OPTIONS", value: "--max-semi-space-size=2 --max-old-space-size=96" }]);
    assert.equal(c.args!.includes("--enforce-epc-limits"), enforceEpcLimits);
    const qh = find<V1DaemonSet>(renderAddon(testConfig({ enforceEpcLimits, quoteHelperEpcMiB: 8 }), tls), "DaemonSet", "sgx-quote-helper").spec!.template;
    assert.deepEqual(qh.metadata!.annotations, enforceEpcLimits ? { "epc-limit.nri.io/container.quote-helper": String(8 * 1048576) } : undefined, "the helper's own limit: the webhook skips its namespace");
    assert.equal(qh.spec!.containers[0]!.name, "quote-helper");
    assert.ok(c.args!.includes("--provision-resource-name=kubernetes.azure.com/sgx_provision"));
  }
});

test("the node policy binds to the plugin's service account, denies on failure, and is valid against the schema", () => {
  const objs = renderAddon(testConfig({ namespace: "confcom" }), tls);
  const policy = find<V1ValidatingAdmissionPolicy>(objs, "ValidatingAdmissionPolicy", "confcom-sgx-plugin-node");
  const binding = find<V1ValidatingAdmissionPolicyBinding>(objs, "ValidatingAdmissionPolicyBinding", "confcom-sgx-plugin-node");
  assert.equal(policy.spec!.failurePolicy, "Fail");
  assert.deepEqual(policy.spec!.matchConditions, [{ name: "sgx-plugin-service-account", expression: "request.userInfo.username == 'system:serviceaccount:confcom:sgx-plugin'" }]);
  assert.deepEqual(policy.spec!.matchConstraints!.resourceRules, [{ apiGroups: [""], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["nodes", "nodes/status"] }]);
  assert.deepEqual(binding.spec, { policyName: "confcom-sgx-plugin-node", validationActions: ["Deny"] });
  const order = objs.map((o) => o.kind);
  assert.ok(order.indexOf("ValidatingAdmissionPolicyBinding") < order.indexOf("DaemonSet"), "in force before the plugin runs");
});

test("node starts with the NODE_OPTIONS the DaemonSets and the webhook set (Node refuses most V8 flags there)", () => {
  for (const opts of [DAEMON_NODE_OPTIONS, WEBHOOK_NODE_OPTIONS]) {
    const r = spawnSync(process.execPath, ["-e", "0"], { env: { ...process.env, NODE_OPTIONS: opts.join(" ") }, encoding: "utf8", timeout: 20_000 });
    assert.equal(r.status, 0, `NODE_OPTIONS="${opts.join(" ")}": ${r.stderr}`);
  }
});

test("every node daemon's container runs node with its flags: NODE_OPTIONS, and the rest on the command line", () => {
  const containers = renderAddon(testConfig(), tls)
    .filter((o) => o.kind === "DaemonSet")
    .flatMap((o) => (o as V1DaemonSet).spec!.template.spec!.containers);
  assert.ok(containers.length >= 3, "the device plugin, the quote helper and its keeper");
  for (const c of containers) {
    const env = literalEnv(c.env);
    assert.equal(env.NODE_OPTIONS, DAEMON_NODE_OPTIONS.join(" "), c.name);
    assert.equal(env[NODE_FLAGS_ENV], DAEMON_NODE_FLAGS.join(" "), c.name);
    // As the image's entrypoint runs node (test/image runs the daemons through it).
    const r = spawnSync(process.execPath, [...env[NODE_FLAGS_ENV]!.split(" "), "-p", "process.execArgv.join(' ')"], { env: { ...process.env, NODE_OPTIONS: env.NODE_OPTIONS }, encoding: "utf8", timeout: 20_000 });
    assert.equal(r.status, 0, `${c.name}: ${r.stderr}`);
    assert.ok(r.stdout.includes(DAEMON_NODE_FLAGS.join(" ")), r.stdout);
  }
  // What makes them command-line flags: in NODE_OPTIONS, node refuses to start.
  const refused = spawnSync(process.execPath, ["-e", "0"], { env: { ...process.env, NODE_OPTIONS: DAEMON_NODE_FLAGS.join(" ") }, encoding: "utf8", timeout: 20_000 });
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /not allowed in NODE_OPTIONS/);
});
