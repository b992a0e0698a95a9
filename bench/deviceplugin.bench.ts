// Device plugin targets: Allocate round trip vs a bare grpc-js unary call, re-registration after a kubelet
// restart (every Register accepted: median and worst of 50; every snapshot decoded: median of 50), each
// plugin in its own process against a kubelet peer in this one, and again against the grpc-go kubelet peer
// (test/peers/kubelet-go) where Go is installed, and the daemon's idle RSS with 192 GiB of EPC advertised
// against a floor process that only loads what the plugin must (grpc-js, protobuf-es), same V8 flags.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { unixTarget } from "../src/common/grpc-service.js";
import { silentLogger } from "../src/common/log.js";
import { startDevicePlugin } from "../src/deviceplugin/daemon.js";
import { PLUGIN_ENV } from "../src/deviceplugin/defaults.js";
import { createSimulatedDevRoot } from "../src/deviceplugin/devices/index.js";
import { SimulatedKubelet } from "../src/kubelet/simulated-kubelet.js";
import { HEALTHY, snapshotWireBytes } from "../src/deviceplugin/device-ids.js";
import { startChild, stopChild } from "./support/child.js";
import { timeGoRestart, timeRestart, type RestartTimes, type TimedResource } from "./support/restart-timer.js";
import { GoKubelet, needsGoKubelet } from "../test/support/go-kubelet.js";
import { describeRss, medianSettledRss, RSS_COPIES, settledRss, TRACE_GC_FLAG, type SettledRss } from "./support/settled-rss.js";
import { percentile, ratioResult, timePerOp, type Bench, type BenchResult } from "./harness.js";
import { DAEMON_NODE_ARGS } from "../src/common/node-options.js";

const RESOURCE = "kubernetes.azure.com/sgx_epc_mem_in_MiB";
const RESTARTS = 50;
const WARMUP_RESTARTS = 3;
const WORST_REREGISTRATION_MS = 30;
const bareEntry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "support/bare-plugin-child.js");
const cliEntry = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/cli/main.js");
/** The generated Device Plugin API, which the floor loads too. */
const apiSchema = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../src/gen/deviceplugin/v1beta1/api_pb.js");
/** The DaemonSet's env for the plugin, given to the bare plugin and the floor as well. */
const daemonEnv = { ...process.env, ...PLUGIN_ENV };
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

async function allocateRoundTrip(dir: string): Promise<BenchResult[]> {
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
    return [
      ratioResult(
        "Allocate round trip (10 IDs) vs bare grpc-js unary",
        percentile(oursUs, 50),
        percentile(baseUs, 50),
        "µs/op",
        { max: 1.5 },
        `same process, unix sockets, medians of 4000 alternating calls; p90 ${percentile(oursUs, 90).toFixed(0)} vs ${percentile(baseUs, 90).toFixed(0)} µs`,
      ),
    ];
  } finally {
    bare.close();
    await daemon.stop();
    await kubelet.stop();
  }
}

/** A kubelet peer the re-registration rows run against: the Node one (SimulatedKubelet) or grpc-go's. */
interface PeerRig {
  /** Added to the rows' names; "" for the Node peer. */
  label: string;
  socketDir: string;
  /** Resolves with the resources once our plugin has registered all of them. */
  registered(): Promise<TimedResource[]>;
  restart(resources: readonly TimedResource[], onServing?: () => void): Promise<RestartTimes>;
  close(): Promise<void>;
}

async function nodePeer(socketDir: string): Promise<PeerRig> {
  const k = new SimulatedKubelet({ socketDir });
  await k.start();
  return {
    label: "",
    socketDir: k.socketDir,
    async registered() {
      await k.waitFor((k) => k.resourceNames().length === 3 && k.resourceNames().every((r) => k.connected(r) && k.allocatable(r) > 0), 30_000, "our plugin's first registration");
      return k.resourceNames().map((resourceName) => ({ resourceName, devices: k.allocatable(resourceName) }));
    },
    restart: (resources, onServing) => timeRestart(k, resources, onServing),
    close: () => k.stop(),
  };
}

async function goPeer(socketDir: string): Promise<PeerRig> {
  const k = await GoKubelet.launch(socketDir);
  return {
    label: " (grpc-go kubelet peer)",
    socketDir,
    async registered() {
      await k.waitFor((k) => k.healthy.size === 3 && [...k.healthy.values()].every((n) => n > 0), 30_000, "our plugin's first registration");
      return [...k.healthy].sort().map(([resourceName, devices]) => ({ resourceName, devices }));
    },
    restart: (resources, onServing) => timeGoRestart(k, resources, onServing),
    close: () => k.close(),
  };
}

/**
 * Re-registration after kubelet restarts: our daemon (the CLI, as the DaemonSet runs it) and the bare
 * baseline each run as their own process, as a plugin runs beside a kubelet; each has a kubelet peer of its
 * own (made by `peer`), and their restarts alternate, so that load on this machine falls on both alike.
 */
async function reRegistration(dir: string, peer: (socketDir: string) => Promise<PeerRig>, name: string): Promise<BenchResult[]> {
  const oursPeer = await peer(path.join(dir, `rereg-${name}-ours`));
  const barePeer = await peer(path.join(dir, `rereg-${name}-bare`));
  const nodeArgs = [...DAEMON_NODE_ARGS];
  const children: ChildProcess[] = [];
  try {
    // Errors only on stderr: each restart logs warnings by design (the kubelet closed its stream).
    const plugin = spawn(process.execPath, [...nodeArgs, cliEntry, "device-plugin", "--simulate", "--sim-epc-mib", "16384", "--socket-dir", oursPeer.socketDir, "--metrics-addr", "127.0.0.1:0", "--log-level", "error"], {
      env: daemonEnv,
      stdio: ["ignore", "ignore", "inherit"],
    });
    children.push(plugin);
    const resources = await oursPeer.registered();
    const bare = await startChild([...nodeArgs, bareEntry, barePeer.socketDir, JSON.stringify(resources)], /^ready$/m, daemonEnv, { ipc: true });
    children.push(bare.child);
    bare.child.on("message", (m) => String(m).startsWith("failed") && process.stderr.write(`bench: the bare plugin's registration ${String(m)}\n`));
    const tellBare = () => bare.child.send("register");
    const oursTimes: RestartTimes[] = [];
    const bareTimes: RestartTimes[] = [];
    for (let i = 0; i < WARMUP_RESTARTS; i++) {
      await oursPeer.restart(resources);
      await barePeer.restart(resources, tellBare);
    }
    for (let i = 0; i < RESTARTS; i++) {
      oursTimes.push(await oursPeer.restart(resources));
      bareTimes.push(await barePeer.restart(resources, tellBare));
    }
    const pick = (l: RestartTimes[], k: keyof RestartTimes) => l.map((t) => t[k]).sort((a, b) => a - b);
    const spread = (l: number[]) => `median ${percentile(l, 50).toFixed(1)}, p90 ${percentile(l, 90).toFixed(1)}, worst ${l.at(-1)!.toFixed(1)} ms`;
    const stages = (l: RestartTimes[]) =>
      `kubelet.sock served ${percentile(pick(l, "listening"), 50).toFixed(1)}, first Register accepted ${percentile(pick(l, "firstAccepted"), 50).toFixed(1)}, ` +
      `last ${percentile(pick(l, "accepted"), 50).toFixed(1)}, last snapshot decoded ${percentile(pick(l, "decoded"), 50).toFixed(1)} ms`;
    const what = `${resources.length} resources (${resources.map((r) => r.devices).join(" + ")} devices)`;
    const oa = pick(oursTimes, "accepted");
    const ba = pick(bareTimes, "accepted");
    // The same, clocked from when the new kubelet.sock is served (the kubelet up), not from its start-up.
    const afterServed = (l: RestartTimes[]) => l.map((t) => t.accepted - t.listening).sort((a, b) => a - b);
    const od = pick(oursTimes, "decoded");
    const bd = pick(bareTimes, "decoded");
    const common = `each timed by the kubelet peer from the start of its start-up (its directory clean-up is the plugin's signal; the bare plugin is told the moment kubelet.sock is served)`;
    const label = oursPeer.label;
    return [
      ratioResult(
        `re-registration after a kubelet restart (every Register accepted), worst of ${RESTARTS}, vs the 30 ms target (a constant, issue 12)${label}`,
        oa.at(-1)!,
        WORST_REREGISTRATION_MS,
        "ms",
        { max: 1 },
        `until the kubelet has accepted the Register of all ${what}: it dialed each plugin socket and had its options, and Register returned; ${common}. ` +
          `Ours ${spread(oa)}; bare ${spread(ba)}. From kubelet.sock served instead: ours ${spread(afterServed(oursTimes))}; bare ${spread(afterServed(bareTimes))}. ` +
          `The baseline column is the target itself, not a measurement`,
      ),
      ratioResult(
        `re-registration after a kubelet restart (every Register accepted), median of ${RESTARTS}, vs a bare plugin told when the kubelet is up${label}`,
        percentile(oa, 50),
        percentile(ba, 50),
        "ms",
        { max: 1.5 },
        `as the row above; medians per stage: ours ${stages(oursTimes)}; bare ${stages(bareTimes)}`,
      ),
      ratioResult(
        `admission possible again after a kubelet restart (every snapshot decoded), median of ${RESTARTS}, vs a bare plugin told when the kubelet is up${label}`,
        percentile(od, 50),
        percentile(bd, 50),
        "ms",
        { max: 1.5 },
        `until every resource is registered and the kubelet peer has decoded its first ListAndWatch snapshot with all ${what} healthy (the EPC one is ` +
          `${(snapshotWireBytes(resources.find((r) => r.resourceName === RESOURCE)!.devices, HEALTHY) / 1024).toFixed(0)} KiB); ${common}. Ours ${spread(od)}; bare ${spread(bd)}`,
      ),
    ];
  } finally {
    await Promise.all(children.map(stopChild));
    await oursPeer.close();
    await barePeer.close();
  }
}

/** The rows again against grpc-go, the kubelet's gRPC library, where Go and Debian's grpc-go are installed. */
async function reRegistrationGrpcGo(dir: string): Promise<BenchResult[]> {
  if (needsGoKubelet.skip) {
    process.stderr.write(`bench: re-registration against the grpc-go kubelet peer skipped: ${needsGoKubelet.skip}\n`);
    return [];
  }
  return reRegistration(dir, goPeer, "go");
}

/**
 * Node with the same V8 flags and env, only grpc-js, protobuf-es and the v1beta1 schema loaded (as the quote
 * helper's floor loads the AESM schema), and a gRPC server, as the plugin has.
 */
async function floorRss(dir: string, copy: number): Promise<SettledRss> {
  const script = [
    'const grpc = await import("@grpc/grpc-js");',
    'await import("@bufbuild/protobuf");',
    `await import(${JSON.stringify(pathToFileURL(apiSchema).href)});`,
    "const server = new grpc.Server();",
    `server.bindAsync("unix://${path.join(dir, `floor-${copy}.sock`)}", grpc.ServerCredentials.createInsecure(), () => process.stdout.write("ready\\n"));`,
    "setInterval(() => {}, 1 << 30);",
  ].join("\n");
  const child = spawn(process.execPath, [...DAEMON_NODE_ARGS, TRACE_GC_FLAG, "--input-type=module", "-e", script], { cwd: repoRoot, env: daemonEnv, stdio: ["ignore", "pipe", "inherit"] });
  try {
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (l) => l === "ready" && resolve());
      child.once("exit", (code) => reject(new Error(`floor process exited ${code}`)));
    });
    return await settledRss(child, ready);
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

const IDLE_EPC_MIB = 192 * 1024;

/** One plugin advertising 192 GiB of EPC to a kubelet of its own, read once settled after registration. */
async function pluginRss(dir: string, copy: number): Promise<SettledRss> {
  const socketDir = path.join(dir, `rss-${copy}`);
  const kubelet = new SimulatedKubelet({ socketDir });
  await kubelet.start();
  const args = [...DAEMON_NODE_ARGS, TRACE_GC_FLAG, cliEntry, "device-plugin", "--simulate", "--sim-epc-mib", String(IDLE_EPC_MIB), "--socket-dir", socketDir, "--metrics-addr", "127.0.0.1:0", "--log-level", "warn"];
  const child = spawn(process.execPath, args, { env: daemonEnv, stdio: ["ignore", "pipe", "ignore"] });
  try {
    return await settledRss(child, kubelet.waitFor((k) => k.allocatable(RESOURCE) === IDLE_EPC_MIB, 60_000, "registration of the 192 GiB child"));
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    await kubelet.stop();
  }
}

async function idleRss(dir: string): Promise<BenchResult[]> {
  const [daemon, floor] = await Promise.all([medianSettledRss((i) => pluginRss(dir, i)), medianSettledRss((i) => floorRss(dir, i))]);
  return [
    ratioResult(
      "idle RSS, 192 GiB EPC advertised, vs the floor (node + grpc-js + protobuf-es + the v1beta1 schema)",
      daemon.mib,
      floor.mib,
      "MiB",
      { max: 1.15 },
      `both run as the DaemonSet runs the plugin (${DAEMON_NODE_ARGS.join(" ")}, plus ${TRACE_GC_FLAG} to see their GCs; GLIBC_TUNABLES=${PLUGIN_ENV.GLIBC_TUNABLES}), ` +
        `${RSS_COPIES} of each side by side, each read 3 s after V8's memory-reducing GCs; plugin: ${describeRss(daemon, "registration")}; floor: ${describeRss(floor, "listening")}; ` +
        `the 60 MiB target: ${(daemon.mib / 60).toFixed(2)}x`,
    ),
  ];
}

const bench: Bench = async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "confcom-dp-bench-"));
  try {
    return [...(await allocateRoundTrip(dir)), ...(await reRegistration(dir, nodePeer, "node")), ...(await reRegistrationGrpcGo(dir)), ...(await idleRss(dir))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
