// The quote helper over its socket, against baselines measured in the same run:
// - simulated quotes/s with 64 concurrent clients vs bare ECDSA P-256 signing on as many worker threads;
// - GetQuoteSizeEx round trip vs a bare length-prefixed unix-socket echo (one connection per call, both);
// - the daemon's idle RSS vs 60 MiB, with one warm worker (the default) and with none.
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { QuoteExClient } from "../src/aesm/client.js";
import { DEFAULT_ECDSA_ATT_KEY_ID as KEY } from "../src/sgx/constants.js";
import { decodeTargetInfo } from "../src/sgx/report.js";
import { ereportBytes } from "../src/sim/enclave/ereport.js";
import { simEnclaveIdentity } from "../src/sim/enclave/identity.js";
import { initPlatform } from "../src/sim/platform/init.js";
import { fmt, percentile, ratioResult, timePerOp, type BenchResult } from "./harness.js";
import { echoOnce } from "./support/echo-server.js";
import { DAEMON_NODE_OPTIONS } from "../src/common/node-options.js";

const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLIENTS = 64;
const WINDOW_MS = 4000;
const RTT_CALLS = 2000;

function startChild(args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (ready.test(err)) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

const stop = (c: ChildProcess) => new Promise<void>((r) => (c.once("exit", () => r()), c.kill("SIGTERM")));
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

/** Signatures per second over a 432-byte message on `threads` worker threads, signing flat out. */
async function signingBaseline(threads: number): Promise<number> {
  const pem = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" });
  const src = `
    const { workerData, parentPort } = require("node:worker_threads");
    const { createPrivateKey, sign } = require("node:crypto");
    const key = createPrivateKey(workerData.pem);
    const data = Buffer.alloc(432, 1);
    let n = 0;
    for (const end = Date.now() + workerData.ms; Date.now() < end; n++) sign("sha256", data, { key, dsaEncoding: "ieee-p1363" });
    parentPort.postMessage(n);`;
  const counts = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(src, { eval: true, workerData: { pem, ms: WINDOW_MS } });
          w.once("message", (n: number) => (resolve(n), void w.terminate()));
          w.once("error", reject);
        }),
    ),
  );
  return counts.reduce((a, b) => a + b, 0) / (WINDOW_MS / 1000);
}

export default async function bench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "qh-bench-"));
  const threads = os.availableParallelism();
  const results: BenchResult[] = [];
  try {
    const platform = await initPlatform(path.join(dir, "state"));
    const socket = path.join(dir, "aesm.socket");
    const daemon = await startChild(
      [...DAEMON_NODE_OPTIONS, path.join(distRoot, "src/cli/main.js"), "quote-helper", "--simulate", "--sim-state", platform.dir, "--socket", socket, "--metrics-addr", "127.0.0.1:0", "--workers", String(threads), "--max-queue", "1024"],
      /quote helper listening/,
    );
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const idleRss = rssMiB(daemon.pid!);
      const client = new QuoteExClient({ socketPath: socket });
      const report = ereportBytes(platform, simEnclaveIdentity(), decodeTargetInfo((await client.initQuoteEx(KEY, 32)).targetInfo), Buffer.alloc(64));
      const size = await client.getQuoteSizeEx(KEY);

      const latencies: number[] = [];
      const end = Date.now() + WINDOW_MS;
      await Promise.all(
        Array.from({ length: CLIENTS }, async () => {
          while (Date.now() < end) {
            const t0 = process.hrtime.bigint();
            await client.getQuoteEx(report, KEY, size);
            latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      const quotesPerSec = latencies.length / (WINDOW_MS / 1000);
      const signsPerSec = await signingBaseline(threads);

      const echoSocket = path.join(dir, "echo.socket");
      const echo = await startChild([path.join(distRoot, "bench/support/echo-server.js"), echoSocket], /listening/);
      try {
        // Context for the ratio below: the transport alone (a connection per call, 64 at a time).
        let echoes = 0;
        const echoEnd = Date.now() + WINDOW_MS;
        const quoteSized = Buffer.alloc(size, 1);
        await Promise.all(Array.from({ length: CLIENTS }, async () => {
          for (; Date.now() < echoEnd; echoes++) await echoOnce(echoSocket, quoteSized);
        }));
        results.push(
          ratioResult(`quotes/s, ${CLIENTS} clients over the socket vs bare P-256 signing (${threads} threads)`, quotesPerSec, signsPerSec, "ops/s", { min: 0.7 },
            `quote latency p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms over ${latencies.length} quotes; ` +
              `a bare ${size}-byte echo over the same kind of socket does ${fmt(echoes / (WINDOW_MS / 1000))}/s with ${CLIENTS} clients; clients, daemon and workers share ${threads} cores`),
        );
        const rtt = await timePerOp(() => client.getQuoteSizeEx(KEY), RTT_CALLS);
        const base = await timePerOp(() => echoOnce(echoSocket, Buffer.alloc(266, 1)), RTT_CALLS);
        results.push(ratioResult("GetQuoteSizeEx round trip vs length-prefixed unix-socket echo", rtt, base, "µs", { max: 2 }, "one connection per call on both sides, as libsgx_quote_ex does"));
      } finally {
        await stop(echo);
      }
      results.push(ratioResult("quote helper RSS with one warm quoting worker vs 60 MiB", idleRss, 60, "MiB", { max: 1 }, "just started (the first worker checks the backend) or serving"));
      const cold = await startChild(
        [...DAEMON_NODE_OPTIONS, path.join(distRoot, "src/cli/main.js"), "quote-helper", "--simulate", "--sim-state", platform.dir, "--socket", path.join(dir, "cold.socket"), "--metrics-addr", "127.0.0.1:0", "--worker-idle-ms", "200"],
        /quote helper listening/,
      );
      await new Promise((r) => setTimeout(r, 1500));
      results.push(ratioResult("quote helper idle RSS (workers retired, the default) vs 60 MiB", rssMiB(cold.pid!), 60, "MiB", { max: 1 }, "--worker-idle-ms 200 to reach idle quickly; the next request pays a worker start"));
      await stop(cold);
    } finally {
      await stop(daemon);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
