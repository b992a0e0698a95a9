// The device plugin's ValidatingAdmissionPolicy, evaluated: its CEL expressions run in an independent
// CEL implementation (@bufbuild/cel) against the admission requests the plugin, an attacker holding its
// token, and other users would send, in the order the API server applies them (match conditions,
// variables, validations; an evaluation error denies, as failurePolicy Fail does).
import { test } from "node:test";
import assert from "node:assert/strict";
import { run } from "@bufbuild/cel";
import { pluginNodePolicy } from "../../src/addon/manifests/node-policy.js";
import { RESOURCE, testConfig } from "./fixtures.js";

type Obj = Record<string, any>;
const policy = pluginNodePolicy(testConfig()).spec!;
const PLUGIN = "system:serviceaccount:kube-system:sgx-plugin";

/** JSON as CEL sees a Kubernetes object: maps, lists, strings, ints. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- CelInput has no JSON case
function cel(v: unknown): any {
  if (Array.isArray(v)) return v.map(cel);
  if (typeof v === "number") return BigInt(v);
  if (v && typeof v === "object") return new Map(Object.entries(v).map(([k, x]) => [k, cel(x)]));
  return v;
}

/** "allowed", "not matched", or the message of the first validation that fails. */
function admit(user: { username: string; extra?: Record<string, string[]> }, oldObject: Obj, object: Obj): string {
  const request = cel({ operation: "UPDATE", userInfo: { username: user.username, groups: ["system:serviceaccounts"], ...(user.extra ? { extra: user.extra } : {}) } });
  const base = { request, object: cel(object), oldObject: cel(oldObject) };
  for (const c of policy.matchConditions!) if (run(c.expression, base) !== true) return "not matched";
  const variables = new Map<string, any>();
  for (const v of policy.variables!) variables.set(v.name, run(v.expression, { ...base, variables }));
  for (const v of policy.validations!) {
    const r = run(v.expression, { ...base, variables });
    if (r !== true) return v.message!;
  }
  return "allowed";
}

function node(name: string): Obj {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": "Standard_DC4s_v3" },
      annotations: { "node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true" },
    },
    spec: { podCIDR: "10.244.1.0/24", podCIDRs: ["10.244.1.0/24"], providerID: `azure:///${name}` },
    status: {
      capacity: { cpu: "4", memory: "16Gi", pods: "110" },
      allocatable: { cpu: "3860m", memory: "12Gi", pods: "110" },
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady" }],
      addresses: [{ type: "InternalIP", address: "10.224.0.4" }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: { kubeletVersion: "v1.30.4", osImage: "Ubuntu 22.04" },
      images: [{ names: ["mcr.microsoft.com/pause:3.9"], sizeBytes: 300000 }],
    },
  };
}
const plugin = (nodeName?: string) => ({ username: PLUGIN, ...(nodeName ? { extra: { "authentication.kubernetes.io/node-name": [nodeName], "authentication.kubernetes.io/pod-name": ["sgx-plugin-x"] } } : {}) });
const change = (o: Obj, f: (n: Obj) => void) => {
  const n = structuredClone(o);
  f(n);
  return n;
};

test("the plugin may label its own node with the SGX labels, change and remove them", () => {
  const old = node("sgx-1");
  const labelled = change(old, (n) => Object.assign(n.metadata.labels, { "sgx.intel.com/capable": "true", "confcom.io/sgx-epc-mib": "16384" }));
  assert.equal(admit(plugin("sgx-1"), old, labelled), "allowed");
  assert.equal(admit(plugin("sgx-1"), labelled, change(labelled, (n) => (n.metadata.labels["confcom.io/sgx-epc-mib"] = "8192"))), "allowed");
  assert.equal(admit(plugin("sgx-1"), labelled, change(labelled, (n) => delete n.metadata.labels["sgx.intel.com/capable"])), "allowed");
  const bare = change(old, (n) => delete n.metadata.labels);
  assert.equal(admit(plugin("sgx-1"), bare, change(bare, (n) => (n.metadata.labels = { "sgx.intel.com/capable": "true" }))), "allowed", "a node with no labels map yet");
});

test("the plugin may publish its own node's EPC capacity, nothing else in the status", () => {
  const old = node("sgx-1");
  assert.equal(admit(plugin("sgx-1"), old, change(old, (n) => (n.status.capacity[RESOURCE] = "1048576"))), "allowed");
  const denied = /may change only the EPC resource's capacity/;
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.status.capacity.cpu = "64"))), denied);
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.status.capacity["nvidia.com/gpu"] = "8"))), denied);
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => delete n.status.capacity.pods)), denied);
  const other = /no node status besides the EPC capacity/;
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.status.allocatable[RESOURCE] = "1048576"))), other, "the kubelet copies capacity to allocatable, not the plugin");
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.status.conditions[0].status = "False"))), other);
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.status.addresses = [{ type: "InternalIP", address: "6.6.6.6" }]))), other);
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => delete n.status.images)), other);
});

test("any other node, or a token without the node name, is denied", () => {
  const old = node("sgx-2");
  const labelled = change(old, (n) => (n.metadata.labels["sgx.intel.com/capable"] = "true"));
  assert.match(admit(plugin("sgx-1"), old, labelled), /only the node its pod runs on/);
  assert.match(admit(plugin(), old, labelled), /only the node its pod runs on/, "no node-name extra: no node is its own");
  assert.match(admit({ username: PLUGIN, extra: { "authentication.kubernetes.io/node-name": [] } }, old, labelled), /only the node its pod runs on/);
});

test("on its own node: other labels, annotations, taints, unschedulable and owners are denied", () => {
  const old = node("sgx-1");
  const labels = /may change only the labels sgx.intel.com\/capable, confcom.io\/sgx-epc-mib/;
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.metadata.labels["node-role.kubernetes.io/control-plane"] = ""))), labels);
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.metadata.labels["node.kubernetes.io/instance-type"] = "Standard_D2s_v3"))), labels);
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => delete n.metadata.labels["kubernetes.io/os"])), labels);
  const rest = /may not change a node's annotations, owners, finalizers or spec/;
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.spec.taints = [{ key: "evil", effect: "NoExecute" }]))), rest);
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.spec.unschedulable = true))), rest);
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.metadata.annotations["x"] = "y"))), rest);
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => delete n.metadata.annotations)), rest);
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.metadata.finalizers = ["hold"]))), rest);
  assert.match(admit(plugin("sgx-1"), old, change(old, (n) => (n.metadata.ownerReferences = [{ apiVersion: "v1", kind: "Node", name: "x", uid: "1" }]))), rest);
});

test("other users (the kubelet, an admin) are not this policy's business", () => {
  const old = node("sgx-1");
  const tainted = change(old, (n) => (n.spec.taints = [{ key: "maintenance", effect: "NoSchedule" }]));
  assert.equal(admit({ username: "system:node:sgx-1" }, old, tainted), "not matched");
  assert.equal(admit({ username: "system:serviceaccount:kube-system:other" }, old, tainted), "not matched");
  assert.equal(admit({ username: "system:serviceaccount:other-ns:sgx-plugin" }, old, tainted), "not matched", "another namespace's account of the same name");
});

test("the evaluator is strict: a validation that reads a missing field errors instead of passing", () => {
  assert.notEqual(run("object.status.capacity.cpu == '4'", { object: cel({ metadata: {} }) }), true);
});
