// The webhook's least-privilege and enforcement mutations, against the real `confcom webhook` process:
// the provision device only for containers that quote in process, never for quote-helper pods; the
// aesmd mount read-only and its volume added once; with --enforce-epc-limits, the sgx-epc NRI plugin's
// per-container annotations.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { WEBHOOK_NODE_OPTIONS } from "../../src/common/node-options.js";
import { admit, applyPatch, mutateToFixpoint as settle, startWebhook, type Obj, type RunningWebhook } from "./harness.js";

const mutateToFixpoint = async (hook: RunningWebhook, pod: Obj) => (await settle(hook, pod)).pod;

const EPC = "kubernetes.azure.com/sgx_epc_mem_in_MiB";
const ENCLAVE = "kubernetes.azure.com/sgx_enclave";
const PROVISION = "kubernetes.azure.com/sgx_provision";
const MiB = 1 << 20;

let plain: RunningWebhook;
let enforcing: RunningWebhook;
before(async () => {
  // One runs with the Deployment's V8 heap options, as in the cluster.
  [plain, enforcing] = await Promise.all([startWebhook(), startWebhook(["--enforce-epc-limits"], { NODE_OPTIONS: WEBHOOK_NODE_OPTIONS.join(" ") })]);
});
after(() => {
  plain?.stop();
  enforcing?.stop();
});

function pod(annotations: Record<string, string> | undefined, containers: Obj[], extra: Obj = {}): Obj {
  return { apiVersion: "v1", kind: "Pod", metadata: { name: "p", ...(annotations ? { annotations } : {}) }, spec: { containers, ...extra } };
}
const epcContainer = (name: string, mib: string, withRequests = false): Obj => ({
  name,
  image: "app",
  resources: { limits: { [EPC]: mib }, ...(withRequests ? { requests: { [EPC]: mib } } : {}) },
});

describe("the quote helper's aesmd mount", () => {
  test("is read-only, and a pod that already has the confcom-aesmd volume does not get a second one", async () => {
    const p = pod({ "confcom.io/quote-helper": "true" }, [epcContainer("app", "10")], {
      volumes: [{ name: "confcom-aesmd", hostPath: { path: "/var/run/aesmd", type: "DirectoryOrCreate" } }],
    });
    const { patch } = await admit(plain, "mutate", p);
    assert.ok(patch);
    assert.ok(!patch.some((op) => op.path.startsWith("/spec/volumes")), `no volume op: ${JSON.stringify(patch)}`);
    const out = applyPatch(p, patch);
    assert.deepEqual(out.spec.volumes.map((v: Obj) => v.name), ["confcom-aesmd"], "exactly one volume of that name (the API server rejects duplicates)");
    assert.deepEqual(out.spec.containers[0].volumeMounts, [{ name: "confcom-aesmd", mountPath: "/var/run/aesmd", readOnly: true }]);
    assert.deepEqual(out.spec.containers[0].env, [{ name: "SGX_AESM_ADDR", value: "1" }]);
    assert.equal(out.spec.containers[0].resources.limits[PROVISION], undefined, "quote-helper pods never get the provision device");
  });
});

describe("the provision device for in-process quoting", () => {
  test("confcom.io/quote-in-process gives each named EPC container one device, request = limit, and nothing else", async () => {
    const p = pod({ "confcom.io/quote-in-process": " app,worker " }, [epcContainer("app", "10"), epcContainer("worker", "4", true), { name: "side", image: "s" }]);
    const out = await mutateToFixpoint(plain, p);
    const [app, worker, side] = out.spec.containers;
    assert.deepEqual(app.resources, { limits: { [EPC]: "10", [ENCLAVE]: "1", [PROVISION]: "1" } }, "requests are defaulted from limits");
    assert.deepEqual(worker.resources, { limits: { [EPC]: "4", [ENCLAVE]: "1", [PROVISION]: "1" }, requests: { [EPC]: "4", [ENCLAVE]: "1", [PROVISION]: "1" } });
    assert.deepEqual(side, { name: "side", image: "s" });
    assert.equal(app.env, undefined, "in-process quoting: no SGX_AESM_ADDR");
    assert.equal(out.spec.volumes, undefined, "and no aesmd mount");
    assert.equal((await admit(plain, "validate", out)).response.allowed, true);
  });

  test("Intel's sgx.intel.com/quote-provider naming a container counts; naming none (the node's aesmd) gives nothing", async () => {
    const named = await mutateToFixpoint(plain, pod({ "sgx.intel.com/quote-provider": "app" }, [epcContainer("app", "10"), epcContainer("other", "2")]));
    assert.equal(named.spec.containers[0].resources.limits[PROVISION], "1");
    assert.equal(named.spec.containers[1].resources.limits[PROVISION], undefined);
    const node = pod({ "sgx.intel.com/quote-provider": "aesmd" }, [epcContainer("app", "10")]);
    const { patch } = await admit(plain, "mutate", node);
    assert.deepEqual(patch, [{ op: "add", path: "/spec/containers/0/resources/limits/kubernetes.azure.com~1sgx_enclave", value: "1" }]);
    assert.equal((await admit(plain, "validate", node)).response.allowed, true);
  });

  test("pods that name nobody get no provision device", async () => {
    const out = await mutateToFixpoint(plain, pod(undefined, [epcContainer("app", "10")]));
    assert.equal(out.spec.containers[0].resources.limits[PROVISION], undefined);
  });

  test("a quote-helper pod that also names in-process containers is denied, and the mutation adds no provision device", async () => {
    const both = pod({ "confcom.io/quote-helper": "true", "confcom.io/quote-in-process": "app" }, [epcContainer("app", "10")]);
    const out = await mutateToFixpoint(plain, both);
    assert.equal(out.spec.containers[0].resources.limits[PROVISION], undefined);
    const { response } = await admit(plain, "validate", out);
    assert.equal(response.allowed, false);
    assert.match(response.status.message, /opts into the quote helper .* and names containers that quote in process .*choose one/);
    const intel = pod({ "confcom.io/quote-helper": "true", "sgx.intel.com/quote-provider": "app" }, [epcContainer("app", "10")]);
    assert.equal((await admit(plain, "validate", intel)).response.allowed, false);
  });

  test("a quote-helper pod that asks for the provision resource by hand is denied", async () => {
    const c = epcContainer("app", "10");
    c.resources.limits[PROVISION] = "1";
    const { response } = await admit(plain, "validate", pod({ "confcom.io/quote-helper": "true" }, [c]));
    assert.equal(response.allowed, false);
    assert.match(response.status.message, /container "app": asks for kubernetes.azure.com\/sgx_provision, which pods on the quote helper .* never get/);
  });

  test("a name in confcom.io/quote-in-process that is no EPC container is denied, the name cut short", async () => {
    const long = "x".repeat(5000);
    const { response } = await admit(plain, "validate", pod({ "confcom.io/quote-in-process": `app,side,${long}` }, [epcContainer("app", "10"), { name: "side", image: "s" }]));
    assert.equal(response.allowed, false);
    assert.match(response.status.message, /names "side", which is not a container with kubernetes.azure.com\/sgx_epc_mem_in_MiB in its limits/);
    assert.ok(response.status.message.length < 1000, "a tenant's long name is not echoed in full");
  });

  test("many bad names: the message lists ten and counts the rest", async () => {
    const names = Array.from({ length: 500 }, (_, i) => `c${i}`).join(",");
    const { response } = await admit(plain, "validate", pod({ "confcom.io/quote-in-process": names }, [epcContainer("app", "10")]));
    assert.equal(response.allowed, false);
    assert.match(response.status.message, /; and 490 more$/);
  });
});

describe("--enforce-epc-limits", () => {
  const key = (c: string) => `epc-limit.nri.io/container.${c}`;

  test("each EPC container, init containers too, gets its limit in bytes under the sgx-epc plugin's key", async () => {
    const p = pod(undefined, [epcContainer("app", "10"), { name: "side", image: "s" }], { initContainers: [epcContainer("init", "2", true)] });
    const out = await mutateToFixpoint(enforcing, p);
    assert.deepEqual(out.metadata.annotations, { [key("app")]: String(10 * MiB), [key("init")]: String(2 * MiB) });
    assert.equal(out.spec.containers[0].resources.limits[ENCLAVE], "1", "the other mutations still happen");
    assert.equal((await admit(enforcing, "validate", out)).response.allowed, true);
  });

  test("a value the tenant wrote under our key is replaced by the accounted limit; other annotations are kept", async () => {
    const p = pod({ [key("app")]: "999999999999", "epc-limit.nri.io/pod": "1", team: "a" }, [epcContainer("app", "16")]);
    const { patch } = await admit(enforcing, "mutate", p);
    assert.ok(patch?.some((op) => op.op === "replace" && op.path === "/metadata/annotations/epc-limit.nri.io~1container.app" && op.value === String(16 * MiB)));
    const out = await mutateToFixpoint(enforcing, p);
    assert.deepEqual(out.metadata.annotations, { [key("app")]: String(16 * MiB), "epc-limit.nri.io/pod": "1", team: "a" });
  });

  test("without the flag no annotation is written", async () => {
    const out = await mutateToFixpoint(plain, pod(undefined, [epcContainer("app", "10")]));
    assert.equal(out.metadata.annotations, undefined);
  });

  test("an EPC container whose name the annotation key cannot carry is denied only when enforcing", async () => {
    const name = "a".repeat(54);
    const p = pod(undefined, [epcContainer(name, "10")]);
    const denied = await admit(enforcing, "validate", p);
    assert.equal(denied.response.allowed, false);
    assert.match(denied.response.status.message, /names longer than 53 characters cannot carry the epc-limit\.nri\.io\/container\.<name> annotation/);
    assert.equal((await admit(plain, "validate", p)).response.allowed, true);
    const ok = await mutateToFixpoint(enforcing, pod(undefined, [epcContainer("a".repeat(53), "10")]));
    assert.equal(ok.metadata.annotations[key("a".repeat(53))], String(10 * MiB), "53 characters still fit (63 for the name part)");
  });
});
