// `confcom demo`: the main job on a simulated SGX node, in a temp dir, with nothing installed. A simulated
// platform; a PCCS, the EPC device plugin and the quote helper as child processes; the kubelet peer in this
// process admitting a container that asks for 10 MiB of EPC; then the attestation sample run as the docs'
// Job runs it (SGX_AESM_ADDR=1, the aesmd socket directory, the allocation's env), quoting out of process
// and verifying against the PCCS.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_RESOURCE_NAME, DEFAULT_SOCKET_NAME } from "../deviceplugin/defaults.js";
import { SimulatedKubelet } from "../kubelet/simulated-kubelet.js";
import { initPlatform } from "../sim/platform/init.js";
import { ChildSet, type Child } from "./children.js";
import { StepFailed, Steps, type StepRecord, type StepReporter } from "./steps.js";

export const DEMO_ALLOCATION_MIB = 10;
/** Faults the tests inject to see the demo fail cleanly. */
export const DEMO_FAULTS = ["revoked-tcb", "quote-helper-down"] as const;
export type DemoFault = (typeof DEMO_FAULTS)[number];

const here = path.dirname(fileURLToPath(import.meta.url));
const cliEntry = path.resolve(process.argv[1] ?? path.join(here, "../cli/main.js")); // the running entry: the tsc build or the bundle
// The sample app: beside the bundle's entry (scripts/bundle.mjs emits it), or where tsc builds it.
const appEntry = [path.join(path.dirname(cliEntry), "attestation-app.mjs"), path.resolve(here, "../../examples/attestation/app.js")].find((f) => existsSync(f))!;

export interface DemoOptions {
  epcMiB: number;
  seed?: string;
  /** Keep the temp dir (and report it). */
  keep?: boolean;
  fault?: DemoFault;
  reporter: StepReporter;
  /** Aborting (Ctrl-C) fails the current step; everything is still cleaned up. */
  signal: AbortSignal;
  stepTimeoutMs?: number;
}

export interface DemoReport {
  ok: boolean;
  epcMiB: number;
  seed?: string;
  /** Where the demo ran; removed at the end unless kept. */
  tempDir: string;
  kept: boolean;
  totalMs: number;
  steps: StepRecord[];
  node?: { resource: string; endpoint: string; registrations: number; capacity: number; allocatable: number };
  allocation?: {
    mib: number;
    deviceIds: string[];
    devices: { containerPath: string; hostPath: string; permissions: string }[];
    envs: Record<string, string>;
  };
  attestation?: { mode: string; mrEnclave: string; mrSigner: string; tcbStatus: string; advisoryIds: string[]; quoteBytes: number; line: string };
  failedStep?: string;
  error?: string;
}

interface AppResult {
  ok: boolean;
  mode: string;
  quoteBytes: number;
  tcbStatus: string;
  advisoryIds: string[];
  enclave: { mrEnclave: string; mrSigner: string };
  line: string;
  error?: string;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const cli = (children: ChildSet, name: string, args: string[]) => children.spawn(name, [cliEntry, ...args, "--metrics-addr", "127.0.0.1:0"]);

export async function runDemo(opts: DemoOptions): Promise<DemoReport> {
  const t0 = performance.now();
  const timeout = opts.stepTimeoutMs ?? 30_000;
  const tmp = mkdtempSync(path.join(os.tmpdir(), "confcom-demo-"));
  const stateDir = path.join(tmp, "sgx-state");
  const socketDir = path.join(tmp, "device-plugins");
  // The node's /var/run/aesmd, which the Job mounts at the same path.
  const aesmSocket = path.join(tmp, "aesmd", "aesm.socket");
  const children = new ChildSet();
  const kubelet = new SimulatedKubelet({ socketDir });
  const steps = new Steps(opts.reporter, opts.signal);
  const report: DemoReport = { ok: false, epcMiB: opts.epcMiB, ...(opts.seed !== undefined && { seed: opts.seed }), tempDir: tmp, kept: opts.keep === true, totalMs: 0, steps: steps.records };
  const resource = DEFAULT_RESOURCE_NAME;
  const daemons: Child[] = [];
  try {
    const platform = await steps.run("platform", "simulated SGX platform (sim init)", async () => {
      const p = await initPlatform(stateDir, {
        epcMiB: opts.epcMiB,
        ...(opts.seed !== undefined && { seed: opts.seed }),
        ...(opts.fault === "revoked-tcb" && { collateral: { tcbStatus: "Revoked" as const } }),
      });
      return { value: p, detail: `EPC ${p.epcMiB} MiB, FMSPC ${p.fmspc.toString("hex").toUpperCase()}, state ${p.dir}` };
    });

    const pccsUrl = await steps.run("pccs", "PCCS serving the platform's collateral", async () => {
      const pccs = cli(children, "PCCS", ["pccs", "--state", stateDir, "--port", "0", "--log-level", "warn"]);
      daemons.push(pccs);
      const url = (await within(pccs.waitFor(/^(http:\/\/\S+)$/m, "stdout"), timeout, "PCCS start"))[1]!;
      return { value: url, detail: url };
    });

    await steps.run("kubelet", "kubelet (simulated peer)", async () => {
      await kubelet.start();
      return { value: undefined, detail: path.join(socketDir, "kubelet.sock") };
    });

    await steps.run("device-plugin", "EPC device plugin registered", async () => {
      const plugin = cli(children, "device plugin", ["device-plugin", "--simulate", "--sim-epc-mib", String(opts.epcMiB), "--socket-dir", socketDir, "--log-level", "warn"]);
      daemons.push(plugin);
      await Promise.race([
        kubelet.waitFor((k) => k.registrationCount(resource) > 0 && k.capacity(resource) === opts.epcMiB, timeout, "registration and the first device list"),
        plugin.failOnExit(),
      ]);
      report.node = {
        resource,
        endpoint: DEFAULT_SOCKET_NAME,
        registrations: kubelet.registrationCount(resource),
        capacity: kubelet.capacity(resource),
        allocatable: kubelet.allocatable(resource),
      };
      return { value: undefined, detail: `${resource}: capacity ${report.node.capacity}, allocatable ${report.node.allocatable}` };
    });

    await steps.run("quote-helper", "quote helper on the aesmd socket", async () => {
      const helper = cli(children, "quote helper", ["quote-helper", "--simulate", "--sim-state", stateDir, "--socket", aesmSocket, "--workers", "1", "--log-level", "info"]);
      daemons.push(helper);
      await within(helper.waitFor(/quote helper listening/, "stderr"), timeout, "quote helper start");
      if (opts.fault === "quote-helper-down") {
        helper.proc.kill("SIGKILL");
        await helper.exited;
        return { value: undefined, detail: `${aesmSocket} (killed: injected fault)` };
      }
      return { value: undefined, detail: aesmSocket };
    });

    const allocation = await steps.run("admit", `pod admitted with ${DEMO_ALLOCATION_MIB} MiB of EPC`, async () => {
      const { deviceIds, response } = await within(kubelet.admitContainer(resource, DEMO_ALLOCATION_MIB), timeout, "Allocate");
      const a = {
        mib: DEMO_ALLOCATION_MIB,
        deviceIds,
        devices: response.devices.map((d) => ({ containerPath: d.containerPath, hostPath: d.hostPath, permissions: d.permissions })),
        envs: { ...response.envs },
      };
      report.allocation = a;
      const envs = Object.entries(a.envs).map(([k, v]) => `${k}=${v}`);
      return { value: a, detail: `devices ${a.devices.map((d) => d.containerPath).join(", ")}; env ${envs.join(" ")}` };
    });

    await steps.run("job", "attestation Job (out-of-proc quote, verified with the PCCS)", async () => {
      const env = {
        PATH: process.env.PATH ?? "",
        ...allocation.envs,
        SGX_AESM_ADDR: "1",
        AESM_SOCKET: aesmSocket,
        CONFCOM_SIM_STATE: platform.dir,
        PCCS_URL: pccsUrl,
        SGX_ROOT_CA: path.join(platform.dir, "root-ca.pem"),
      };
      const app = children.spawn("attestation app", [appEntry, "--json"], env);
      const code = await within(app.exited, timeout, "attestation app");
      let doc: AppResult | undefined;
      try {
        doc = JSON.parse(app.stdout()) as AppResult;
      } catch {
        throw new Error(`the app exited ${code} without a result${app.stderr().trim() ? `: ${app.stderr().trim()}` : ""}`);
      }
      if (code !== 0 || !doc.ok) throw new Error(doc.line ?? `the app exited ${code}`);
      report.attestation = {
        mode: doc.mode,
        mrEnclave: doc.enclave.mrEnclave,
        mrSigner: doc.enclave.mrSigner,
        tcbStatus: doc.tcbStatus,
        advisoryIds: doc.advisoryIds,
        quoteBytes: doc.quoteBytes,
        line: doc.line,
      };
      return { value: undefined, detail: `${doc.quoteBytes}-byte quote, TCB status ${doc.tcbStatus}` };
    });

    await steps.run("teardown", "daemons stopped cleanly", async () => {
      const codes = await Promise.all(daemons.map(async (d) => [d.name, await d.stop()] as const));
      const bad = codes.filter(([, c]) => c !== 0);
      if (bad.length) throw new Error(bad.map(([n, c]) => `${n} exited ${c}`).join(", "));
      return { value: undefined, detail: codes.map(([n]) => n).join(", ") };
    });
    report.ok = true;
  } catch (e) {
    if (!(e instanceof StepFailed)) throw e;
    report.failedStep = e.step.name;
    report.error = e.message;
  } finally {
    // Children first: a step waiting on one ends when it exits. Then that step's own work, and any
    // child it started meanwhile.
    await children.stopAll();
    await steps.settled(10_000);
    await children.stopAll();
    await kubelet.stop();
    if (!opts.keep) rmSync(tmp, { recursive: true, force: true });
    report.totalMs = Math.round(performance.now() - t0);
  }
  return report;
}

export function formatSummary(r: DemoReport): string {
  const lines: string[] = [];
  if (r.attestation) lines.push(r.attestation.line);
  lines.push(
    r.ok
      ? `demo passed in ${(r.totalMs / 1000).toFixed(2)} s: ${r.allocation?.mib} MiB of EPC allocated on a ${r.epcMiB} MiB node, enclave attested out of process, TCB status ${r.attestation?.tcbStatus}`
      : `demo FAILED after ${(r.totalMs / 1000).toFixed(2)} s: ${r.error}`,
  );
  if (r.kept) lines.push(`temp dir kept: ${r.tempDir}`);
  return lines.join("\n") + "\n";
}
