// Shared by the quote-helper tests: a simulated platform, the daemon as a child process, raw frames.
import { after, before } from "node:test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as settle } from "node:timers/promises";
import { QuoteExClient } from "../../src/aesm/client.js";
import { encodeFrame, readFrame } from "../../src/aesm/framing.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/constants.js";
import { decodeTargetInfo } from "../../src/sgx/report.js";
import { ereportBytes } from "../../src/sim/enclave/ereport.js";
import { simEnclaveIdentity } from "../../src/sim/enclave/identity.js";
import { initPlatform } from "../../src/sim/platform/init.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { cliEntry } from "../support/paths.js";
import { within } from "../support/timeout.js";

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function simPlatform(dir: string): Promise<SimPlatform> {
  return initPlatform(path.join(dir, "state"));
}

/** A temporary directory with a simulated platform in it, made before the file's tests and removed after. */
export function platformFixture(prefix: string): { readonly dir: string; readonly platform: SimPlatform } {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let platform: SimPlatform | undefined;
  before(async () => {
    tmp = tempDir(prefix);
    platform = await simPlatform(tmp.dir);
  });
  after(() => tmp?.cleanup());
  return {
    get dir() {
      return tmp!.dir;
    },
    get platform() {
      return platform!;
    },
  };
}

/** An app enclave's report for the QE whose 512-byte target info is given. */
export function appReport(platform: SimPlatform, qeTargetInfo: Buffer, reportData = Buffer.alloc(64, 7)): Buffer {
  return ereportBytes(platform, simEnclaveIdentity(), decodeTargetInfo(qeTargetInfo), reportData);
}

export interface HelperProcess {
  child: ChildProcess;
  socket: string;
  metricsPort: number;
  stderr(): string;
  /** SIGTERM and wait; resolves to the exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface HelperSpawnOptions {
  /** node's own command-line arguments, before the script: e.g. the V8 flags the DaemonSet runs the daemon with (DAEMON_NODE_ARGS). */
  nodeArgs?: readonly string[];
  /** Called with everything the helper has written to stderr so far, on each write (before it serves too). */
  onStderr?: (all: string) => void;
}

/**
 * Starts `confcom quote-helper --simulate` (or the `--backend` that `extra` names: the two conflict) and
 * resolves once it serves (or rejects with its stderr).
 */
export function startHelper(stateDir: string, socket: string, extra: string[] = [], spawnOpts: HelperSpawnOptions = {}): Promise<HelperProcess> {
  const backend = extra.includes("--backend") ? [] : ["--simulate"];
  const child = spawn(
    process.execPath,
    [...(spawnOpts.nodeArgs ?? []), cliEntry, "quote-helper", ...backend, "--sim-state", stateDir, "--socket", socket, "--metrics-addr", "127.0.0.1:0", ...extra],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const started = new Promise<HelperProcess>((resolve, reject) => {
    let listening = false;
    let metricsPort = 0;
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      spawnOpts.onStderr?.(err);
      const port = /"port":(\d+)/.exec(err);
      listening ||= err.includes("quote helper listening");
      if (listening && port && !metricsPort) {
        metricsPort = Number(port[1]);
        resolve({
          child,
          socket,
          metricsPort,
          stderr: () => err,
          exited,
          stop: () => {
            child.kill("SIGTERM");
            return within(exited, 15_000, "the quote helper to exit on SIGTERM");
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`quote-helper exited (${code}) before serving:\n${err}`)));
  });
  return within(started, 30_000, "the quote helper to listen").catch((e: unknown) => {
    child.kill("SIGKILL");
    throw e;
  });
}

/** Runs `confcom ...` to completion. */
export function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliEntry, ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Sends raw bytes and resolves to the response payload, or `undefined` if the server closed without one.
 * `halfClose` ends the client's side after the bytes, as a client that gives up mid-frame does.
 */
export function rawCall(socketPath: string, bytes: Uint8Array, timeoutMs = 10_000, halfClose = false): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(socketPath);
    s.once("error", reject);
    s.once("connect", () => {
      s.removeListener("error", reject);
      s.on("error", () => undefined); // reported through readFrame
      if (halfClose) s.end(bytes);
      else s.write(bytes);
      readFrame(s, { maxSize: 1 << 24, timeoutMs }).then(
        (frame) => {
          s.destroy();
          resolve(frame);
        },
        (err: Error & { reason?: string; code?: string }) => {
          s.destroy();
          // A close with unread input in the server's buffer arrives as a reset: still "no response".
          if (err.reason === "truncated" || err.code === "ECONNRESET" || err.code === "EPIPE") resolve(undefined);
          else reject(err);
        },
      );
    });
  });
}

export const rawRequest = (socketPath: string, payload: Uint8Array) => rawCall(socketPath, encodeFrame(payload));

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]);
}

/** Peak resident set size so far (the kernel's high-water mark). */
export function hwmKiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]);
}

export async function metricsText(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

export interface LoopStats {
  ok: number;
  /** Calls that started while no helper served and were answered (by the next one). */
  downOk: number;
  /** Calls in flight when a helper was killed that failed; `perKill[k]` counts kill k's. */
  inFlightFailed: number;
  perKill: number[];
  downFailed: string[];
  upFailed: string[];
}

/**
 * `clients` apps on the helper at `socket` calling GetQuoteEx in a loop (after InitQuoteEx and
 * GetQuoteSizeEx, retrying after 20 ms, as an app would) while the test kills and restarts helpers:
 * `down()` at each kill, `up()` once one serves again. Each failure is put down to the phase its call
 * started in.
 */
export async function quoteLoops(platform: SimPlatform, socket: string, clients: number, timeoutMs: number) {
  const client = new QuoteExClient({ socketPath: socket, timeoutMs });
  const report = appReport(platform, (await client.initQuoteEx(DEFAULT_ECDSA_ATT_KEY_ID, 32)).targetInfo);
  const quoteSize = await client.getQuoteSizeEx(DEFAULT_ECDSA_ATT_KEY_ID);
  let phase: "up" | "down" = "up";
  let epoch = 0;
  let running = true;
  const stats: LoopStats = { ok: 0, downOk: 0, inFlightFailed: 0, perKill: [], downFailed: [], upFailed: [] };
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      const startedIn = { phase, epoch };
      try {
        await client.getQuoteEx(report, DEFAULT_ECDSA_ATT_KEY_ID, quoteSize);
        stats.ok++;
        if (startedIn.phase === "down") stats.downOk++;
      } catch (err) {
        const message = (err as Error).message;
        if (startedIn.phase === "up" && startedIn.epoch !== epoch) {
          stats.inFlightFailed++;
          stats.perKill[startedIn.epoch] = (stats.perKill[startedIn.epoch] ?? 0) + 1;
        } else if (startedIn.phase === "down" || phase === "down") stats.downFailed.push(message);
        else stats.upFailed.push(message);
        await settle(20);
      }
    }
  });
  return {
    stats,
    down() {
      phase = "down";
      epoch++;
    },
    up() {
      phase = "up";
    },
    stop: async () => {
      running = false;
      await within(Promise.all(loops), 30_000, "the client loops to end");
    },
  };
}
