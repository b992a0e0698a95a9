// Rollout that says what is wrong: `addon enable` against the fake API server, whose stuck DaemonSet has
// a pod in each state the kubelet and scheduler report (status, events, the previous container's log).
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { disableAddon, enableAddon } from "../../src/addon/cluster/operations.js";
import { CRASH_LOOP_RESTARTS, oneLine, podProblem } from "../../src/addon/cluster/pod-problems.js";
import { KubeClient } from "../../src/k8s/client.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { testConfig } from "./fixtures.js";

const NS = "kube-system";
const connect = (fake: FakeApiServer) => KubeClient.connect({ kubeconfig: fake.kubeconfigPath });

async function enable(fake: FakeApiServer, waitMs: number, onPoll?: () => void): Promise<{ lines: string[]; error?: Error; ms: number }> {
  const lines: string[] = [];
  const t0 = Date.now();
  try {
    await enableAddon(await connect(fake), testConfig(), {
      waitMs,
      pollMs: 50,
      print: (l) => {
        lines.push(l);
        onPoll?.();
      },
    });
    return { lines, ms: Date.now() - t0 };
  } catch (error) {
    return { lines, error: error as Error, ms: Date.now() - t0 };
  }
}

/** A pod of the plugin's DaemonSet, labelled as the DaemonSet selects it, with the given status. */
function pluginPod(fake: FakeApiServer, name: string, status: Record<string, unknown>, node = "sgx-1") {
  const ds = fake.find("DaemonSet", "sgx-plugin", NS)!;
  fake.seed({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: NS, labels: { ...ds.spec.selector.matchLabels } }, spec: { nodeName: node, containers: [{ name: "device-plugin", image: "x" }] }, status });
}

function event(fake: FakeApiServer, pod: string, reason: string, message: string) {
  fake.seed({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${pod}.${reason}`, namespace: NS },
    involvedObject: { kind: "Pod", name: pod, namespace: NS },
    reason,
    message,
    type: "Warning",
    lastTimestamp: new Date().toISOString(),
  });
}

/** Runs enable; once the DaemonSet exists, `arrange` adds the pods the scenario is about. */
async function scenario(fake: FakeApiServer, waitMs: number, arrange: () => void) {
  let arranged = false;
  return enable(fake, waitMs, () => {
    if (!arranged && fake.find("DaemonSet", "sgx-plugin", NS)) {
      arranged = true;
      arrange();
    }
  });
}

describe("rollout progress with the reason a pod is not ready", { concurrency: 1 }, () => {
  let fake: FakeApiServer;
  before(async () => {
    fake = await FakeApiServer.start();
    fake.addNode("sgx-1", { "sgx.intel.com/capable": "true" });
  });
  after(() => fake.close());
  beforeEach(async () => {
    fake.rolloutMode = "stuck";
    for (const [k, o] of fake.objects) if (o.kind === "Pod" || o.kind === "Event") fake.objects.delete(k);
    if (fake.find("ConfigMap", "confcom-addon-config", NS) || fake.find("DaemonSet", "sgx-plugin", NS)) {
      await disableAddon(await connect(fake), NS, { waitMs: 10_000, pollMs: 50, print: () => {} }).catch(() => {});
    }
  });

  test("Pending with the scheduler's message (insufficient EPC) is printed, and the timeout names it", async () => {
    const r = await scenario(fake, 1500, () =>
      pluginPod(fake, "sgx-plugin-a", {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient kubernetes.azure.com/sgx_epc_mem_in_MiB." }],
      }),
    );
    assert.match(r.lines.join("\n"), /  pod sgx-plugin-a on sgx-1: Pending: 0\/3 nodes are available: 3 Insufficient kubernetes\.azure\.com\/sgx_epc_mem_in_MiB\./);
    assert.match(r.error?.message ?? "", /timed out after .*\/sgx-plugin .*Pending: 0\/3 nodes are available/);
  });

  test("an image that does not exist fails at once, without waiting out the timeout", async () => {
    const r = await scenario(fake, 60_000, () =>
      pluginPod(fake, "sgx-plugin-b", {
        phase: "Pending",
        containerStatuses: [
          { name: "device-plugin", image: "example.com/confcom:nope", ready: false, restartCount: 0, state: { waiting: { reason: "ErrImagePull", message: 'rpc error: code = NotFound desc = failed to pull and unpack image "example.com/confcom:nope": not found' } } },
        ],
      }),
    );
    assert.match(r.error?.message ?? "", /DaemonSet kube-system\/sgx-plugin cannot roll out: pod sgx-plugin-b on sgx-1: ErrImagePull \(example\.com\/confcom:nope\): .*not found/);
    assert.ok(r.ms < 30_000, `failed early (${r.ms} ms), not at the 60 s timeout`);
  });

  test("a crash loop fails early with the container's last log line (our JSON log's message)", async () => {
    const r = await scenario(fake, 60_000, () => {
      pluginPod(fake, "sgx-plugin-c", {
        phase: "Running",
        conditions: [{ type: "Ready", status: "False" }],
        containerStatuses: [
          {
            name: "device-plugin",
            image: "x",
            ready: false,
            restartCount: CRASH_LOOP_RESTARTS,
            state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" } },
            lastState: { terminated: { exitCode: 1, reason: "Error" } },
          },
        ],
      });
      fake.setPodLog(NS, "sgx-plugin-c", "device-plugin", '{"level":30,"msg":"starting"}\n{"level":60,"msg":"cannot serve the plugin socket","err":{"message":"EACCES: permission denied"}}\n');
    });
    assert.match(
      r.error?.message ?? "",
      /cannot roll out: pod sgx-plugin-c on sgx-1: CrashLoopBackOff: container device-plugin restarted 3 times, last exit code 1 \(Error\); last log line: cannot serve the plugin socket: EACCES: permission denied$/,
    );
  });

  test("a failed volume mount is reported from the pod's events", async () => {
    const r = await scenario(fake, 1500, () => {
      pluginPod(fake, "sgx-plugin-d", { phase: "Pending", containerStatuses: [{ name: "device-plugin", image: "x", ready: false, restartCount: 0, state: { waiting: { reason: "ContainerCreating" } } }] });
      event(fake, "sgx-plugin-d", "FailedMount", "MountVolume.SetUp failed for volume \"dev-sgx-enclave\" : hostPath type check failed: /dev/sgx_enclave is not a character device");
    });
    assert.match(r.lines.join("\n"), /pod sgx-plugin-d on sgx-1: FailedMount: MountVolume\.SetUp failed for volume "dev-sgx-enclave" : hostPath type check failed/);
    assert.match(r.error?.message ?? "", /timed out/);
  });
});

describe("pod problems from pod status alone", () => {
  test("a short crash loop is reported but not yet fatal; a ready pod has no problem", () => {
    const crashing = podProblem({
      metadata: { name: "p" },
      status: { phase: "Running", containerStatuses: [{ name: "c", image: "i", imageID: "", ready: false, restartCount: 1, state: { waiting: { reason: "CrashLoopBackOff" } } }] },
    });
    assert.equal(crashing?.fatal, false);
    assert.equal(crashing?.crashedContainer, "c");
    assert.equal(podProblem({ metadata: { name: "p" }, status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } }), null);
  });

  test("API text is flattened to one printable, bounded line", () => {
    const line = oneLine(`a\nb\u001b[31m${"x".repeat(1000)}`);
    assert.ok(!/[\n\u001b]/.test(line));
    assert.ok(line.length <= 301);
  });
});
