// The quote helper replaced under a client, against baselines measured in the same run:
// - handover: the longest pause in answering a sequential GetQuoteEx loop while the helper is replaced
//   by handover, vs the median round trip of one call before it;
// - crash restart: spawn to the first served quote over a SIGKILLed helper's stale socket, vs spawning
//   a bare `node -e 0` to its exit (the part of the 1 s budget that is Node itself).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { QuoteExClient } from "../src/aesm/client.js";
import { DAEMON_NODE_ARGS } from "../src/common/node-options.js";
import { DEFAULT_ECDSA_ATT_KEY_ID as KEY } from "../src/sgx/constants.js";
import { decodeTargetInfo } from "../src/sgx/report.js";
import { ereportBytes } from "../src/sim/enclave/ereport.js";
import { simEnclaveIdentity } from "../src/sim/enclave/identity.js";
import { initPlatform } from "../src/sim/platform/init.js";
import { startChild } from "./support/child.js";
import { fmt, percentile, ratioResult, type BenchResult } from "./harness.js";

const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const HANDOVERS = 3;
const RESTARTS = 3;

async function startHelper(state: string, socket: string): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const args = [...DAEMON_NODE_ARGS, path.join(distRoot, "src/cli/main.js"), "quote-helper", "--simulate", "--sim-state", state, "--socket", socket, "--metrics-addr", "127.0.0.1:0", "--workers", "1"];
  const { child } = await startChild(args, /quote helper listening/);
  return { child, exited: new Promise<number | null>((r) => child.once("exit", (code) => r(code))) };
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function bareNodeMs(): Promise<number> {
  const t0 = process.hrtime.bigint();
  await new Promise((r) => spawn(process.execPath, ["-e", "0"], { stdio: "ignore" }).once("exit", r));
  return ms(t0);
}

export default async function bench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "confcom-bench-handover-"));
  try {
    const platform = await initPlatform(path.join(dir, "state"));
    const socket = path.join(dir, "aesm.socket");
    let helper = await startHelper(platform.dir, socket);
    const client = new QuoteExClient({ socketPath: socket, timeoutMs: 10_000 });
    const report = ereportBytes(platform, simEnclaveIdentity(), decodeTargetInfo((await client.initQuoteEx(KEY, 32)).targetInfo), Buffer.alloc(64, 1));
    const size = await client.getQuoteSizeEx(KEY);
    const call = async () => {
      const t0 = process.hrtime.bigint();
      await client.getQuoteEx(report, KEY, size);
      return ms(t0);
    };
    for (let i = 0; i < 100; i++) await call();
    const rtts: number[] = [];
    for (let i = 0; i < 500; i++) rtts.push(await call());
    const rtt = percentile(rtts.sort((a, b) => a - b), 50);

    // One sequential client; the longest time from one answer to the next while each handover runs.
    let failed = 0;
    let longest = 0;
    let running = true;
    const loop = (async () => {
      let last = process.hrtime.bigint();
      while (running) {
        try {
          await call();
        } catch {
          failed++;
        }
        longest = Math.max(longest, ms(last));
        last = process.hrtime.bigint();
      }
    })();
    for (let i = 0; i < HANDOVERS; i++) {
      await new Promise((r) => setTimeout(r, 300));
      const next = await startHelper(platform.dir, socket);
      await helper.exited;
      helper = next;
    }
    await new Promise((r) => setTimeout(r, 300));
    running = false;
    await loop;

    // Crash restarts: spawn to first served quote.
    const restarts: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      helper.child.kill("SIGKILL");
      await helper.exited;
      bare.push(await bareNodeMs());
      const t0 = process.hrtime.bigint();
      const starting = startHelper(platform.dir, socket);
      for (;;) {
        const served = await client.getQuoteEx(report, KEY, size).then(
          () => true,
          () => false,
        );
        if (served) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      restarts.push(ms(t0));
      helper = await starting;
    }
    await new Promise<void>((r) => (helper.child.once("exit", () => r()), helper.child.kill("SIGTERM")));
    const median = (v: number[]) => percentile([...v].sort((a, b) => a - b), 50);
    return [
      ratioResult(
        "handover: longest pause in answering vs one GetQuoteEx round trip",
        longest,
        rtt,
        "ms",
        { max: 50 },
        `${HANDOVERS} handovers, one sequential client, ${failed} failed calls`,
      ),
      ratioResult(
        "crash restart: spawn to first served quote vs bare node start",
        median(restarts),
        median(bare),
        "ms",
        { max: 10 },
        `median of ${RESTARTS} SIGKILL + restarts (${restarts.map(fmt).join(", ")} ms); budget 1000 ms, met: ${median(restarts) <= 1000 ? "yes" : "no"}`,
      ),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
