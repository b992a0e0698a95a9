// Shared set-up for the device-plugin tests: a temp kubelet directory, a SimulatedKubelet peer, and the
// daemon in this process on a simulated dev root, or as a real child process.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { silentLogger, type Logger } from "../../src/common/log.js";
import { startDevicePlugin, type DevicePluginConfig, type DevicePluginDaemon } from "../../src/deviceplugin/daemon.js";
import { createSimulatedDevRoot } from "../../src/deviceplugin/devices/index.js";
import { SimulatedKubelet } from "../../src/kubelet/simulated-kubelet.js";
import { cliEntry } from "../support/paths.js";

export const RESOURCE = "kubernetes.azure.com/sgx_epc_mem_in_MiB";
export const ENCLAVE = "kubernetes.azure.com/sgx_enclave";
export const ENCLAVE_DEVICES = 110;
export const PROVISION = "kubernetes.azure.com/sgx_provision";

/** The three resources of a device-mode plugin (EPC, enclave, provision) are allocatable in full. */
export const allServed = (epcMiB: number, provisionDevices = ENCLAVE_DEVICES) => (k: SimulatedKubelet) =>
  k.allocatable(RESOURCE) === epcMiB && k.allocatable(ENCLAVE) === ENCLAVE_DEVICES && k.allocatable(PROVISION) === provisionDevices;

export interface Rig {
  dir: string;
  socketDir: string;
  devRoot: string;
  kubelet: SimulatedKubelet;
  cleanup(): Promise<void>;
}

/** `legacyAuthority`: the kubelet peer dials as kubelets before 1.26 (socket path as :authority). */
export async function makeRig(opts: { startKubelet?: boolean; legacyAuthority?: boolean } = {}): Promise<Rig> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "confcom-dp-test-"));
  const socketDir = path.join(dir, "device-plugins");
  const devRoot = await createSimulatedDevRoot(path.join(dir, "host"));
  const kubelet = new SimulatedKubelet({ socketDir, legacyAuthority: opts.legacyAuthority });
  if (opts.startKubelet ?? true) await kubelet.start();
  return {
    dir,
    socketDir,
    devRoot,
    kubelet,
    async cleanup() {
      await kubelet.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function pluginConfig(rig: Rig, over: Partial<DevicePluginConfig> = {}): DevicePluginConfig {
  return {
    resourceName: RESOURCE,
    socketDir: rig.socketDir,
    epcMiB: 64,
    simulate: true,
    devRoot: rig.devRoot,
    hostRoot: path.join(rig.dir, "empty-host"),
    metricsAddr: "127.0.0.1:0",
    nodePollMs: 100,
    ...over,
  };
}

export function startPlugin(rig: Rig, over: Partial<DevicePluginConfig> = {}, log: Logger = silentLogger()): Promise<DevicePluginDaemon> {
  return startDevicePlugin(pluginConfig(rig, over), log);
}

export function httpGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: urlPath }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

export interface Child {
  proc: ChildProcess;
  stderr(): string;
  /** Resolves with the first stderr JSON log line satisfying `pred`. */
  waitForLog(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** `p`, or a rejection naming `what` and the exit as soon as the process exits first (not after `p`'s own timeout). */
  running<T>(p: Promise<T>, what: string): Promise<T>;
}

/** Runs the CLI; `env` entries override the inherited environment, `undefined` removes one; `nodeArgs` go before the script. */
export function spawnCli(args: string[], env: Record<string, string | undefined> = {}, nodeArgs: readonly string[] = []): Child {
  const childEnv = { ...process.env };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete childEnv[k];
    else childEnv[k] = v;
  }
  const proc = spawn(process.execPath, [...nodeArgs, cliEntry, ...args], { stdio: ["ignore", "pipe", "pipe"], env: childEnv });
  let err = "";
  const waiters: Array<() => void> = [];
  proc.stderr!.on("data", (b: Buffer) => {
    err += b.toString();
    for (const w of [...waiters]) w();
  });
  proc.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const lines = () =>
    err
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    proc,
    stderr: () => err,
    exited,
    running: (p, what) =>
      Promise.race([p, exited.then(({ code, signal }) => Promise.reject(new Error(`the process exited (${signal ?? code}) while waiting for ${what}; stderr:\n${err}`)))]),
    waitForLog(pred, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines().find(pred);
          if (!hit) return false;
          done();
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching log line within ${timeoutMs} ms; stderr:\n${err}`));
        }, timeoutMs);
        const onExit = () => {
          if (!check()) {
            done();
            reject(new Error(`process exited before the expected log line; stderr:\n${err}`));
          }
        };
        const done = () => {
          clearTimeout(timer);
          const i = waiters.indexOf(check);
          if (i >= 0) waiters.splice(i, 1);
          proc.off("exit", onExit);
        };
        waiters.push(check);
        proc.once("exit", onExit);
        check();
      });
    },
  };
}

/** The port from the ops server's "serving /metrics" log line. */
export async function opsPort(child: Child): Promise<number> {
  const line = await child.waitForLog((l) => typeof l.port === "number" && String(l.msg).includes("/metrics"));
  return line.port as number;
}

/** A pino logger that keeps every line it writes, for assertions on what the daemon logs. */
export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(s) });
  return { log, lines };
}
