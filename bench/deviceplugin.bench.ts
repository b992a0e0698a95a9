// Device plugin targets: Allocate round trip vs a bare grpc-js unary call, re-registration latency after
// a kubelet restart (median and worst of 50), and the daemon's idle RSS with 192 GiB of EPC advertised
// against a floor process that only loads what the plugin must (grpc-js, protobuf-es), same V8 flags.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { unixTarget } from "../src/common/grpc-service.js";
import { silentLogger } from "../src/common/log.js";
import { startDevicePlugin } from "../src/deviceplugin/daemon.js";
import { createSimulatedDevRoot } from "../src/deviceplugin/devices/index.js";
import { SimulatedKubelet } from "../src/kubelet/simulated-kubelet.js";
import { percentile, ratioResult, timePerOp, type Bench, type BenchResult } from "./harness.js";
import { DAEMON_NODE_OPTIONS } from "../src/common/node-options.js";

const RESOURCE = "kubernetes.azure.com/sgx_epc_mem_in_MiB";
const cliEntry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");
/** The repository, where the floor process resolves grpc-js and protobuf-es. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

async function bareUnaryServer(socket: string): Promise<{ call: () => Promise<void>; close: () => void }> {
  const identity = (b: Buffer) => b;
  const server = new grpc.Server();
  server.addService(
    { ping: { path: "/bench.Bare/Ping", requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity } },
    { ping: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from([0x08, 0x01])) },
  );
  await new Promise<void>((res, rej) => server.bindAsync(unixTarget(socket), grpc.ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
  const client = new grpc.Client(unixTarget(socket), grpc.credentials.createInsecure());
  const msg = Buffer.from([0x0a, 0x01, 0x30]);
  return {
    call: () => new Promise<void>((res, rej) => client.makeUnaryRequest("/bench.Bare/Ping", identity, identity, msg, (e) => (e ? rej(e) : res()))),
    close: () => {
      client.close();
      server.forceShutdown();
    },
  };
}

async function inProcess(dir: string): Promise<BenchResult[]> {
  const socketDir = path.join(dir, "dp");
  const devRoot = await createSimulatedDevRoot(path.join(dir, "host"));
  const kubelet = new SimulatedKubelet({ socketDir });
  await kubelet.start();
  const daemon = await startDevicePlugin(
    { resourceName: RESOURCE, socketDir, epcMiB: 16384, simulate: true, devRoot, hostRoot: dir, metricsAddr: "127.0.0.1:0" },
    silentLogger(),
  );
  const bare = await bareUnaryServer(path.join(dir, "bare.sock"));
  try {
    await kubelet.waitFor((k) => k.allocatable(RESOURCE) === 16384, 30_000, "registration");
    const ids = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    const allocate = () => kubelet.allocate(RESOURCE, ids);
    await timePerOp(bare.call, 500);
    await timePerOp(allocate, 500);
    // Calls alternate one by one and each is timed, so load from other processes on this shared machine
    // falls on both sides alike; the medians compare.
    const oursUs: number[] = [];
    const baseUs: number[] = [];
    const timeOne = async (fn: () => Promise<unknown>, into: number[]) => {
      const t0 = process.hrtime.bigint();
      await fn();
      into.push(Number(process.hrtime.bigint() - t0) / 1000);
    };
    for (let i = 0; i < 4000; i++) {
      await timeOne(bare.call, baseUs);
      await timeOne(allocate, oursUs);
    }
    oursUs.sort((a, b) => a - b);
    baseUs.sort((a, b) => a - b);
    const results = [
      ratioResult(
        "Allocate round trip (10 IDs) vs bare grpc-js unary",
        percentile(oursUs, 50),
        percentile(baseUs, 50),
        "µs/op",
        { max: 1.5 },
        `same process, unix sockets, medians of 4000 alternating calls; p90 ${percentile(oursUs, 90).toFixed(0)} vs ${percentile(baseUs, 90).toFixed(0)} µs`,
      ),
    ];

    // Every resource the plugin serves re-registered, and the EPC snapshot in: the kubelet can admit again.
    const resources = kubelet.resourceNames();
    const latencies: number[] = [];
    for (let i = 0; i < 50; i++) {
      const before = resources.map((r) => kubelet.registrationCount(r));
      await kubelet.stop();
      const t0 = process.hrtime.bigint();
      await kubelet.start();
      await kubelet.waitFor((k) => resources.every((r, j) => k.registrationCount(r) > before[j]!) && k.allocatable(RESOURCE) === 16384, 30_000, "re-registration");
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    latencies.sort((a, b) => a - b);
    const median = percentile(latencies, 50);
    const worst = latencies.at(-1)!;
    const p90 = percentile(latencies, 90);
    results.push(
      ratioResult("re-registration after kubelet restart (median of 50)", median, 250, "ms", { max: 1 }, `from kubelet start until all ${resources.length} resources registered and the EPC snapshot in; baseline = the 250 ms target`),
      ratioResult("re-registration after kubelet restart (worst of 50)", worst, 30, "ms", { max: 1 }, `p90 ${p90.toFixed(1)} ms, median ${median.toFixed(1)} ms; baseline = the 30 ms target`),
    );
    return results;
  } finally {
    bare.close();
    await daemon.stop();
    await kubelet.stop();
  }
}

/** RSS of `pid` in MiB, read from /proc. */
function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

const IDLE_SETTLE_MS = 3000;

/** Node with the same V8 flags, only grpc-js and protobuf-es loaded (and a gRPC server, as the plugin has). */
async function floorRss(dir: string): Promise<number> {
  const script = [
    'const grpc = await import("@grpc/grpc-js");',
    'await import("@bufbuild/protobuf");',
    "const server = new grpc.Server();",
    `server.bindAsync("unix://${path.join(dir, "floor.sock")}", grpc.ServerCredentials.createInsecure(), () => process.stdout.write("ready\\n"));`,
    "setInterval(() => {}, 1 << 30);",
  ].join("\n");
  const child = spawn(process.execPath, [...DAEMON_NODE_OPTIONS, "--input-type=module", "-e", script], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once("data", () => resolve());
      child.once("exit", (code) => reject(new Error(`floor process exited ${code}`)));
    });
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    return rssMiB(child.pid!);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

async function idleRss(dir: string): Promise<BenchResult[]> {
  const socketDir = path.join(dir, "rss");
  const kubelet = new SimulatedKubelet({ socketDir });
  await kubelet.start();
  const epc = 192 * 1024;
  const child = spawn(process.execPath, [...DAEMON_NODE_OPTIONS, cliEntry, "device-plugin", "--simulate", "--sim-epc-mib", String(epc), "--socket-dir", socketDir, "--metrics-addr", "127.0.0.1:0", "--log-level", "warn"], { stdio: "ignore" });
  let daemon: number;
  try {
    await kubelet.waitFor((k) => k.allocatable(RESOURCE) === epc, 60_000, "registration of the 192 GiB child");
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS)); // idle: let startup garbage be collected
    daemon = rssMiB(child.pid!);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await kubelet.stop();
  }
  const floor = await floorRss(dir);
  return [
    ratioResult("idle RSS, 192 GiB EPC advertised, vs the floor (node + grpc-js + protobuf-es)", daemon, floor, "MiB", { max: 1.15 }, `both run as the DaemonSet runs the plugin (${DAEMON_NODE_OPTIONS.join(" ")}), measured ${IDLE_SETTLE_MS / 1000} s after start-up; the 60 MiB target: ${(daemon / 60).toFixed(2)}x`),
  ];
}

const bench: Bench = async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "confcom-dp-bench-"));
  try {
    return [...(await inProcess(dir)), ...(await idleRss(dir))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
