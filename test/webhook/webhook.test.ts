// The webhook as it runs in the cluster: `confcom webhook` in a child process, called over real TLS
// (trusting the CA `addon enable` would put in the caBundle) with real AdmissionReview payloads.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import https from "node:https";
import { admit as admitTo, applyPatch, mutateToFixpoint as mutateOn, post as postTo, review, startWebhook, type Obj, type RunningWebhook } from "./harness.js";

const EPC = "kubernetes.azure.com/sgx_epc_mem_in_MiB";
const ENCLAVE = "kubernetes.azure.com/sgx_enclave";
const OPT_IN = { "confcom.io/quote-helper": "true" };

let hook: RunningWebhook;
before(async () => {
  hook = await startWebhook(["--max-body-bytes", "200000"]);
});
after(() => hook.stop());

const post = (pathname: string, payload: string | Buffer, opts: { method?: string } = {}) => postTo(hook, pathname, payload, opts);
const admit = (endpoint: "mutate" | "validate", pod: Obj) => admitTo(hook, endpoint, pod);
const mutateToFixpoint = (pod: Obj) => mutateOn(hook, pod);

/** The sample Job's pod from the AKS docs: EPC 10 in limits, and the opt-in annotation. */
function docsJobPod(): Obj {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { generateName: "sgx-test-", labels: { app: "sgx-test" }, annotations: { ...OPT_IN } },
    spec: {
      restartPolicy: "Never",
      containers: [{ name: "sgxtest", image: "oeciteam/sgx-test:1.0", resources: { limits: { [EPC]: 10 } } }],
    },
  };
}

describe("mutating", () => {
  test("the docs' Job pod gets SGX_AESM_ADDR=1 and the host's /var/run/aesmd", async () => {
    const { patch } = await admit("mutate", docsJobPod());
    assert.ok(patch);
    const pod = applyPatch(docsJobPod(), patch);
    const c = pod.spec.containers[0];
    assert.deepEqual(c.resources, { limits: { [EPC]: 10, [ENCLAVE]: "1" } }, "one enclave device; requests are defaulted from limits");
    assert.ok(patch.some((op) => op.path === "/spec/containers/0/resources/limits/kubernetes.azure.com~1sgx_enclave"), "the / in the name is escaped");
    assert.deepEqual(c.env, [{ name: "SGX_AESM_ADDR", value: "1" }]);
    assert.deepEqual(c.volumeMounts, [{ name: "confcom-aesmd", mountPath: "/var/run/aesmd", readOnly: true }], "read-only: a tenant must not unlink or replace the node's socket");
    assert.deepEqual(pod.spec.volumes, [{ name: "confcom-aesmd", hostPath: { path: "/var/run/aesmd", type: "DirectoryOrCreate" } }]);
  });

  test("reinvocation is idempotent: a mutated pod gets no patch at all", async () => {
    const once = await mutateToFixpoint(docsJobPod());
    assert.equal(once.rounds, 1);
    const again = await admit("mutate", once.pod);
    assert.equal(again.patch, undefined);
    assert.equal(again.response.allowed, true);
  });

  test("multi-container pods: only EPC containers change; existing env, mounts and volumes are kept", async () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "multi", annotations: { ...OPT_IN, other: "x" } },
      spec: {
        containers: [
          { name: "enclave-a", image: "a", env: [{ name: "FOO", value: "bar" }], resources: { requests: { [EPC]: "16" }, limits: { [EPC]: "16", cpu: "1" } } },
          { name: "sidecar", image: "s", resources: { limits: { cpu: "100m" } } },
          {
            name: "enclave-b",
            image: "b",
            env: [{ name: "SGX_AESM_ADDR", value: "custom" }],
            volumeMounts: [{ name: "my-aesmd", mountPath: "/var/run/aesmd/" }],
            resources: { limits: { [EPC]: "4" } },
          },
          { name: "enclave-c", image: "c", volumeMounts: [{ name: "data", mountPath: "/data" }], resources: { limits: { [EPC]: "2" } } },
        ],
        volumes: [{ name: "data", emptyDir: {} }, { name: "my-aesmd", hostPath: { path: "/var/run/aesmd" } }],
      },
    };
    const { pod: out, rounds } = await mutateToFixpoint(pod);
    assert.equal(rounds, 1);
    const [a, side, b, c] = out.spec.containers;
    assert.deepEqual(a.resources, { requests: { [EPC]: "16", [ENCLAVE]: "1" }, limits: { [EPC]: "16", cpu: "1", [ENCLAVE]: "1" } }, "request = limit");
    assert.deepEqual(a.env, [{ name: "FOO", value: "bar" }, { name: "SGX_AESM_ADDR", value: "1" }]);
    assert.deepEqual(a.volumeMounts, [{ name: "confcom-aesmd", mountPath: "/var/run/aesmd", readOnly: true }]);
    assert.deepEqual(side, pod.spec.containers[1], "a container without EPC is untouched");
    assert.deepEqual(b, { ...pod.spec.containers[2], resources: { limits: { [EPC]: "4", [ENCLAVE]: "1" } } }, "its own SGX_AESM_ADDR and aesmd mount are respected");
    assert.deepEqual(c.volumeMounts, [{ name: "data", mountPath: "/data" }, { name: "confcom-aesmd", mountPath: "/var/run/aesmd", readOnly: true }]);
    assert.deepEqual(out.spec.volumes.map((v: Obj) => v.name), ["data", "my-aesmd", "confcom-aesmd"], "one volume added, once");
  });

  test("init containers with EPC get their enclave device, nothing else", async () => {
    const pod = docsJobPod();
    pod.spec.initContainers = [{ name: "init", image: "i", resources: { limits: { [EPC]: "1" } } }];
    const { pod: out } = await mutateToFixpoint(pod);
    assert.deepEqual(out.spec.initContainers, [{ name: "init", image: "i", resources: { limits: { [EPC]: "1", [ENCLAVE]: "1" } } }]);
    assert.ok(out.spec.containers[0].env);
  });

  test("pods that do not opt in get only the enclave device", async () => {
    const noAnnotation = docsJobPod();
    delete noAnnotation.metadata.annotations;
    const falseAnnotation = docsJobPod();
    falseAnnotation.metadata.annotations = { "confcom.io/quote-helper": "false" };
    for (const pod of [noAnnotation, falseAnnotation]) {
      const { patch } = await admit("mutate", pod);
      assert.deepEqual(patch, [{ op: "add", path: "/spec/containers/0/resources/limits/kubernetes.azure.com~1sgx_enclave", value: "1" }]);
    }
  });

  test("a container that already names the enclave resource keeps its own value", async () => {
    const pod = docsJobPod();
    delete pod.metadata.annotations;
    pod.spec.containers[0].resources = { limits: { [EPC]: "10", [ENCLAVE]: "2" }, requests: { [EPC]: "10", [ENCLAVE]: "2" } };
    const { patch } = await admit("mutate", pod);
    assert.equal(patch, undefined);
  });

  test("pods without EPC in their limits get no patch", async () => {
    const noEpc = { apiVersion: "v1", kind: "Pod", metadata: { annotations: { ...OPT_IN } }, spec: { containers: [{ name: "web", image: "nginx" }] } };
    const requestOnly = docsJobPod();
    requestOnly.spec.containers[0].resources = { requests: { [EPC]: "10" } };
    for (const pod of [noEpc, requestOnly]) {
      const { response, patch } = await admit("mutate", pod);
      assert.equal(response.allowed, true);
      assert.equal(patch, undefined);
    }
  });

  test("absent or null maps and arrays do not crash it (AKS's webhook panicked on nil maps)", async () => {
    const pods: Obj[] = [
      { apiVersion: "v1", kind: "Pod", metadata: { annotations: OPT_IN } },
      { apiVersion: "v1", kind: "Pod", metadata: { annotations: OPT_IN }, spec: { containers: null, volumes: null } },
      { apiVersion: "v1", kind: "Pod", metadata: { annotations: OPT_IN }, spec: { containers: [null, { name: "x", resources: null }, { name: "y", resources: { limits: null } }] } },
      { apiVersion: "v1", kind: "Pod", metadata: null, spec: { containers: [{ name: "x", resources: { limits: { [EPC]: "1" } } }] } },
      { apiVersion: "v1", kind: "Pod", metadata: { annotations: OPT_IN }, spec: { containers: [{ name: "x", env: null, volumeMounts: null, resources: { limits: { [EPC]: "1" } } }] } },
    ];
    for (const pod of pods) {
      for (const endpoint of ["mutate", "validate"] as const) {
        const { response } = await admit(endpoint, pod);
        assert.equal(response.allowed, true, JSON.stringify(pod));
      }
    }
  });
});

describe("validating", () => {
  const withEpc = (resources: Obj, where: "containers" | "initContainers" = "containers") => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: { containers: [{ name: "app", image: "x" }], [where]: [{ name: "enclave", image: "x", resources }] },
  });

  test("pods without EPC are allowed (AKS's validating hook rejected them)", async () => {
    const { response } = await admit("validate", { apiVersion: "v1", kind: "Pod", metadata: { name: "web" }, spec: { containers: [{ name: "nginx", image: "nginx" }] } });
    assert.deepEqual(response, { uid: response.uid, allowed: true });
  });

  test("equal whole requests and limits are allowed, in any spelling", async () => {
    for (const [req, lim] of [["10", "10"], [10, "10"], ["1e1", "10"], ["0.01k", "10"], [undefined, "8"]] as const) {
      const resources = { limits: { [EPC]: lim }, ...(req === undefined ? {} : { requests: { [EPC]: req } }) };
      const { response } = await admit("validate", withEpc(resources));
      assert.equal(response.allowed, true, `${req} / ${lim}: ${response.status?.message}`);
    }
  });

  test("mismatched requests and limits are denied with a clear message", async () => {
    const { response } = await admit("validate", withEpc({ requests: { [EPC]: "8" }, limits: { [EPC]: "16" } }));
    assert.equal(response.allowed, false);
    assert.equal(response.status.code, 400);
    assert.equal(response.status.message, `container "enclave": ${EPC} request "8" must equal its limit "16" (extended resources cannot be overcommitted)`);
  });

  test("fractional and malformed values are denied, for init containers too", async () => {
    const cases: [Obj, RegExp][] = [
      [{ limits: { [EPC]: "1.5" }, requests: { [EPC]: "1.5" } }, /limit "1\.5" is not a whole, positive number of MiB/],
      [{ limits: { [EPC]: "500m" } }, /limit "500m" is not a whole/],
      [{ limits: { [EPC]: "0" } }, /limit "0" is not a whole, positive/],
      [{ limits: { [EPC]: "ten" } }, /limit "ten" is not a whole/],
      [{ limits: { [EPC]: "1e999" } }, /limit "1e999" is not a whole/],
      [{ limits: { [EPC]: "4" }, requests: { [EPC]: "4.5" } }, /request "4\.5" is not a whole number of MiB/],
      [{ requests: { [EPC]: "4" } }, /is requested \("4"\) but has no limit/],
    ];
    for (const [resources, re] of cases) {
      for (const where of ["containers", "initContainers"] as const) {
        const { response } = await admit("validate", withEpc(resources, where));
        assert.equal(response.allowed, false, JSON.stringify(resources));
        assert.match(response.status.message, re);
        assert.match(response.status.message, where === "containers" ? /^container "enclave"/ : /^init container "enclave"/);
      }
    }
  });

  test("non-CREATE operations and other kinds are allowed untouched", async () => {
    const rev = review(withEpc({ requests: { [EPC]: "1" }, limits: { [EPC]: "2" } }), { operation: "UPDATE" });
    const a = await post("/validate", JSON.stringify(rev));
    assert.deepEqual(a.body.response, { uid: rev.request.uid, allowed: true });
  });
});

describe("malformed and hostile requests", () => {
  const bad = async (endpoint: string, payload: string | Buffer, re: RegExp, status = 400) => {
    const a = await post(endpoint, payload);
    assert.equal(a.status, status, JSON.stringify(a.body));
    assert.match(a.body.error, re);
  };

  test("bad JSON, wrong apiVersion or kind, missing request or uid: 400 with the reason", async () => {
    const ok = review(docsJobPod());
    await bad("/mutate", "{not json", /body is not JSON/);
    await bad("/mutate", "[]", /not a JSON object/);
    await bad("/validate", JSON.stringify({ ...ok, apiVersion: "admission.k8s.io/v1beta1" }), /apiVersion must be "admission\.k8s\.io\/v1", got "admission\.k8s\.io\/v1beta1"/);
    await bad("/validate", JSON.stringify({ ...ok, kind: "Pod" }), /kind must be "AdmissionReview"/);
    await bad("/mutate", JSON.stringify({ apiVersion: ok.apiVersion, kind: ok.kind }), /has no request/);
    await bad("/mutate", JSON.stringify({ ...ok, request: { ...ok.request, uid: undefined } }), /request\.uid must be a non-empty string/);
    await bad("/mutate", JSON.stringify({ ...ok, request: { ...ok.request, uid: 42 } }), /request\.uid/);
    await bad("/mutate", JSON.stringify({ ...ok, request: { ...ok.request, object: "pod" } }), /request\.object must be an object/);
  });

  test("deep nesting and huge bodies are refused without crashing", async () => {
    await bad("/mutate", "[".repeat(100_000) + "]".repeat(100_000), /nested deeper than 64/);
    const deep = review(docsJobPod());
    let o: Obj = {};
    deep.request.object.metadata.annotations.deep = o;
    for (let i = 0; i < 80; i++) o = o.x = {};
    await bad("/validate", JSON.stringify(deep), /nested deeper/);
    await bad("/mutate", Buffer.alloc(300_000, 0x20), /exceeds the limit of 200000/, 413);
  });

  test("wrong path or method", async () => {
    await bad("/admit", "{}", /no such endpoint \/admit/, 404);
    const a = await post("/mutate", "", { method: "GET" });
    assert.equal(a.status, 405);
  });

  test("still serving after all that, and counting in /metrics", async () => {
    const { response } = await admit("validate", docsJobPod());
    assert.equal(response.allowed, true);
    const text = await fetch(`http://127.0.0.1:${hook.metricsPort}/metrics`).then((r) => r.text());
    assert.match(text, /confcom_webhook_reviews_total\{endpoint="mutate",result="patched"\} [1-9]/);
    assert.match(text, /confcom_webhook_reviews_total\{endpoint="validate",result="denied"\} [1-9]/);
    assert.match(text, /confcom_webhook_reviews_total\{endpoint="mutate",result="bad_request"\} [1-9]/);
    assert.equal((await fetch(`http://127.0.0.1:${hook.metricsPort}/readyz`)).status, 200);
  });

  test("TLS: a client that does not trust the add-on's CA cannot connect", async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = https.request({ host: "127.0.0.1", port: hook.port, path: "/mutate", method: "POST", servername: "confcom-webhook.kube-system.svc" }, resolve);
        req.on("error", reject);
        req.end("{}");
      }),
      /self-signed|unable to verify|certificate/i,
    );
  });
});
