// The project's main job for now: a simulated SGX node end to end. A simulated kubelet in this process,
// the real `confcom device-plugin --simulate` as a child process, registration, the node's EPC capacity,
// and the allocation of 10 MiB a pod would get.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SimulatedKubelet } from "../kubelet/simulated-kubelet.js";
import { DEFAULT_RESOURCE_NAME, DEFAULT_SOCKET_NAME } from "../deviceplugin/defaults.js";
export const DEMO_ALLOCATION_MIB = 10;

const cliEntry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../cli/main.js");

export interface DemoOptions {
  epcMiB: number;
  timeoutMs?: number;
}

export interface DemoReport {
  resource: string;
  epcMiB: number;
  endpoint: string;
  registrations: number;
  capacity: number;
  allocatable: number;
  allocation: {
    mib: number;
    deviceIds: string[];
    devices: { containerPath: string; hostPath: string; permissions: string }[];
    envs: Record<string, string>;
  };
}

function waitExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

export async function runDemo(opts: DemoOptions): Promise<DemoReport> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const tmp = mkdtempSync(path.join(os.tmpdir(), "confcom-demo-"));
  const socketDir = path.join(tmp, "device-plugins");
  const kubelet = new SimulatedKubelet({ socketDir });
  let child: ChildProcess | null = null;
  let stderr = "";
  try {
    await kubelet.start();
    child = spawn(
      process.execPath,
      [cliEntry, "device-plugin", "--simulate", "--sim-epc-mib", String(opts.epcMiB), "--socket-dir", socketDir, "--metrics-addr", "127.0.0.1:0", "--log-level", "warn"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    const died = waitExit(child).then((code) => {
      throw new Error(`device plugin exited early (code ${code}): ${stderr.trim()}`);
    });
    const resource = DEFAULT_RESOURCE_NAME;
    await Promise.race([
      kubelet.waitFor((k) => k.registrationCount(resource) > 0 && k.capacity(resource) === opts.epcMiB, timeoutMs, "registration and the first snapshot"),
      died,
    ]);
    const { deviceIds, response } = await kubelet.admitContainer(resource, DEMO_ALLOCATION_MIB);
    const report: DemoReport = {
      resource,
      epcMiB: opts.epcMiB,
      endpoint: DEFAULT_SOCKET_NAME,
      registrations: kubelet.registrationCount(resource),
      capacity: kubelet.capacity(resource),
      allocatable: kubelet.allocatable(resource),
      allocation: {
        mib: DEMO_ALLOCATION_MIB,
        deviceIds,
        devices: response.devices.map((d) => ({ containerPath: d.containerPath, hostPath: d.hostPath, permissions: d.permissions })),
        envs: { ...response.envs },
      },
    };
    died.catch(() => {});
    child.kill("SIGTERM");
    const code = await waitExit(child);
    if (code !== 0) throw new Error(`device plugin did not stop cleanly (exit ${code}): ${stderr.trim()}`);
    child = null;
    return report;
  } finally {
    if (child && child.exitCode === null) {
      child.kill("SIGKILL");
      await waitExit(child);
    }
    await kubelet.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

export function formatDemo(r: DemoReport): string {
  const lines = [
    `simulated SGX node: ${r.epcMiB} MiB of EPC, device plugin registered with the kubelet as ${r.endpoint}`,
    `node capacity:    ${r.resource}: ${r.capacity}`,
    `node allocatable: ${r.resource}: ${r.allocatable}`,
    `allocation of ${r.allocation.mib} MiB (device IDs ${r.allocation.deviceIds.join(",")}):`,
    ...r.allocation.devices.map((d) => `  device ${d.hostPath} -> ${d.containerPath} (${d.permissions})`),
    ...Object.entries(r.allocation.envs).map(([k, v]) => `  env    ${k}=${v}`),
  ];
  return lines.join("\n") + "\n";
}
