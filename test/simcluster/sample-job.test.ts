// examples/attestation/job-simulated.yaml as a simulated cluster runs it: the device plugin (as the add-on
// renders it) admits the Job's container through the kubelet peer, the quote helper runs with the args the
// add-on renders and its own allocation's platform, and the Job's command runs as its uid 65532 with the
// allocation's env and the mounted platform (container paths mapped to the host paths the mounts name).
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import type { V1DaemonSet, V1Job } from "@kubernetes/client-node";
import { Job } from "kubernetes-models/batch/v1";
import { renderAddon } from "../../src/addon/manifests/index.js";
import { simulationConfig } from "../../src/addon/simulation.js";
import type { DevicePluginDaemon } from "../../src/deviceplugin/daemon.js";
import { SIM_STATE_CONTAINER_PATH } from "../../src/deviceplugin/sim-node-paths.js";
import type { ContainerAllocateResponse } from "../../src/gen/deviceplugin/v1beta1/api_pb.js";
import { ChildSet } from "../../src/demo/children.js";
import { testConfig } from "../addon/fixtures.js";
import { makeRig, startPlugin, type Rig } from "../deviceplugin/helpers.js";
import { cliEntry, repoRoot } from "../support/paths.js";

const isRoot = process.geteuid?.() === 0;
const SEED = "sample-job-seed";
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** What the kubelet gives a container: every resource's allocation merged (mounts by container path, env by name). */
function merged(responses: ContainerAllocateResponse[]) {
  const envs: Record<string, string> = {};
  const mounts = new Map<string, { hostPath: string; readOnly: boolean }>();
  for (const r of responses) {
    for (const [k, v] of Object.entries(r.envs)) {
      assert.ok(envs[k] === undefined || envs[k] === v, `env ${k} agrees across resources`);
      envs[k] = v;
    }
    for (const m of r.mounts) {
      assert.ok(!mounts.has(m.containerPath) || mounts.get(m.containerPath)!.hostPath === m.hostPath, `mount ${m.containerPath} agrees`);
      mounts.set(m.containerPath, { hostPath: m.hostPath, readOnly: m.readOnly });
    }
  }
  return { envs, mounts };
}

describe("job-simulated.yaml on a simulated node", { skip: !isRoot && "needs root to run the Job as uid 65532" }, () => {
  const job = parse(readFileSync(path.join(repoRoot, "examples/attestation/job-simulated.yaml"), "utf8")) as V1Job;
  const pod = job.spec!.template.spec!;
  const container = pod.containers[0]!;
  let rig: Rig;
  let daemon: DevicePluginDaemon;
  const children = new ChildSet();

  before(async () => {
    rig = await makeRig();
    chmodSync(rig.dir, 0o755);
    daemon = await startPlugin(rig, {
      epcMiB: undefined,
      simEpcMiB: 512,
      devRoot: undefined,
      simHostDevices: true,
      nodeName: "worker-1",
      nodeLabels: false,
      simNode: { seed: SEED, stateRoot: path.join(rig.dir, "var-lib-confcom-sim") },
    });
    await rig.kubelet.waitFor((k) => k.allocatable("kubernetes.azure.com/sgx_epc_mem_in_MiB") === 512, 10_000, "EPC served");
  });
  after(async () => {
    await children.stopAll();
    await daemon?.stop();
    await rig?.cleanup();
  });

  test("the Job is a valid batch/v1 Job using the main image, the EPC limit, SGX_AESM_ADDR=1 and a read-only aesmd mount", () => {
    assert.doesNotThrow(() => new Job(job as never).validate());
    assert.deepEqual(container.command, ["confcom"]);
    assert.deepEqual(container.args, ["sample", "attestation"]);
    assert.match(container.image!, /confcom\/confcom:/);
    assert.equal(container.env!.find((e) => e.name === "SGX_AESM_ADDR")!.value, "1");
    assert.ok(container.env!.find((e) => e.name === "SGX_ROOT_CA")!.value!.startsWith(`${SIM_STATE_CONTAINER_PATH}/`));
    assert.deepEqual(container.volumeMounts, [{ name: "var-run-aesmd", mountPath: "/var/run/aesmd", readOnly: true }]);
    assert.equal(pod.securityContext!.runAsUser, 65532);
    assert.ok(!JSON.stringify(job).includes("confcom.io/quote-helper"), "no reliance on the webhook");
  });

  test("runs to an UpToDate verdict, out of process, as uid 65532, offline from the mounted platform", async (t) => {
    // The quote helper as the simulated add-on renders it, with its own allocation (EPC + enclave device).
    const config = testConfig({ nodeLabels: [], instanceTypes: [], simulation: await simulationConfig(SEED, 512) });
    const qhDs = renderAddon(config, { caPem: "x", certPem: "x", keyPem: "x" }).find((o) => o.kind === "DaemonSet" && o.metadata.name === "sgx-quote-helper") as unknown as V1DaemonSet;
    const qhContainer = qhDs.spec!.template.spec!.containers[0]!;
    const qhLimits = qhContainer.resources!.limits!;
    const qhAlloc = merged(await Promise.all(Object.entries(qhLimits).filter(([k]) => k.includes("/")).map(async ([res, n]) => (await rig.kubelet.admitContainer(res, Number(n))).response)));
    const onHost = (mounts: Map<string, { hostPath: string }>, p: string) => {
      for (const [c, m] of mounts) if (p === c || p.startsWith(`${c}/`)) return m.hostPath + p.slice(c.length);
      return p;
    };
    const aesmdDir = path.join(rig.dir, "aesmd");
    mkdirSync(aesmdDir, { mode: 0o755 });
    const socket = path.join(aesmdDir, "aesm.socket");
    // Without the pod's socket keeper here (test/quotehelper/keeper.test.ts covers it), the helper binds its own socket.
    const qhArgs = qhContainer.args!.filter((a) => !a.startsWith("--socket-from-keeper=")).map((a) => (a.startsWith("--socket=") ? `--socket=${socket}` : a.startsWith("--metrics-addr=") ? "--metrics-addr=127.0.0.1:0" : a));
    assert.ok(qhArgs.includes("--simulate") && !qhArgs.some((a) => a.startsWith("--sim-state")), "the platform comes from the allocation's env");
    const qhEnv = Object.fromEntries(Object.entries(qhAlloc.envs).map(([k, v]) => [k, onHost(qhAlloc.mounts, v)]));
    const helper = children.spawn("quote helper", [cliEntry, ...qhArgs, "--workers", "1"], { PATH: process.env.PATH ?? "", ...qhEnv });
    await within(Promise.race([helper.waitFor(/quote helper listening/, "stderr"), helper.failOnExit()]), 30_000, "quote helper start");

    // The Job's container: its limits admitted by the kubelet, the allocation's env, the Job's env.
    const limits = container.resources!.limits!;
    const alloc = merged(await Promise.all(Object.entries(limits).filter(([k]) => k.includes("/")).map(async ([res, n]) => (await rig.kubelet.admitContainer(res, Number(n))).response)));
    assert.equal(alloc.mounts.get(SIM_STATE_CONTAINER_PATH)?.readOnly, true);
    assert.equal(alloc.mounts.get(SIM_STATE_CONTAINER_PATH)?.hostPath, qhAlloc.mounts.get(SIM_STATE_CONTAINER_PATH)?.hostPath, "the same node platform as the quote helper's");
    const env: Record<string, string> = { PATH: process.env.PATH ?? "", AESM_SOCKET: socket };
    for (const [k, v] of Object.entries(alloc.envs)) env[k] = onHost(alloc.mounts, v);
    for (const e of container.env!) env[e.name] = onHost(alloc.mounts, e.value!);
    // A checkout in a private directory (a CI clone under a 0700 temp dir) cannot be read by the Job's
    // uid; the platform's readability by that uid is then still checked in device-plugin-sim-node.test.ts.
    const jobUser = { uid: pod.securityContext!.runAsUser!, gid: pod.securityContext!.runAsGroup! };
    const reachable = spawnSync(process.execPath, ["-e", `require("fs").accessSync(${JSON.stringify(cliEntry)}, 4)`], jobUser).status === 0;
    if (!reachable) t.diagnostic(`this checkout is not readable by uid ${jobUser.uid}: the Job's command runs as this process's user`);
    const run = await within(
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const c = spawn(process.execPath, [cliEntry, ...container.args!], { env, ...(reachable ? jobUser : {}), stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        c.stdout.on("data", (d: Buffer) => (out += d.toString()));
        c.stderr.on("data", (d: Buffer) => (out += d.toString()));
        c.once("exit", (code) => resolve({ code, out }));
      }),
      60_000,
      "the Job's command",
    );
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /EPC for this container: 10 MiB/);
    assert.match(run.out, /quoting out-of-proc through /);
    assert.match(run.out, /collateral from .*collateral\.json/);
    assert.match(run.out, /attestation succeeded: .*TCB status UpToDate/);
  });
});
