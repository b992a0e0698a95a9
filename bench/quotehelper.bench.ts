// The quote helper over its socket, against ceilings and floors measured in the same run:
// - quotes/s with 64 clients (one connection per call) vs (a) a bare 4.7 KB length-prefixed echo over
//   the same kind of socket and (b) that echo with one bare ECDSA P-256 signature per request on as
//   many worker threads as the helper has: (b) is what the transport, the thread hop and the one
//   signature a quote needs allow; the helper should reach 0.6x of it. Both sides get the same client
//   code (one pre-built request frame per call, as Intel's client sends), in alternating windows;
//   through our QuoteExClient (which also encodes and decodes protobuf on the shared cores) in the note;
// - GetQuoteSizeEx round trip vs the bare echo of its 266-byte request;
// - idle RSS vs a floor process (Node + protobuf-es, same V8 flags and env), read at the same settled moment.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { QuoteExClient } from "../src/aesm/client.js";
import { decodeResponse, encodeRequest } from "../src/aesm/messages.js";
import { DAEMON_ENV, DAEMON_NODE_ARGS } from "../src/common/node-options.js";
import { DEFAULT_ECDSA_ATT_KEY_ID as KEY } from "../src/sgx/constants.js";
import { decodeTargetInfo } from "../src/sgx/report.js";
import { ereportBytes } from "../src/sim/enclave/ereport.js";
import { simEnclaveIdentity } from "../src/sim/enclave/identity.js";
import { initPlatform } from "../src/sim/platform/init.js";
import { fmt, percentile, ratioResult, timePerOp, type BenchResult } from "./harness.js";
import { startChild, stopChild } from "./support/child.js";
import { echoOnce } from "./support/echo-server.js";
import { describeRss, medianSettledRss, RSS_COPIES, settledRss, TRACE_GC_FLAG } from "./support/settled-rss.js";

const distRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLIENTS = 64;
const WINDOW_MS = 2000;
/** Alternating windows per side: the machine's load drifts, so each side is sampled across the run. */
const ROUNDS = 4;
const RTT_CALLS = 2000;

/** The DaemonSet's env for the helper, given to every process the bench compares it with. */
const daemonEnv = { ...process.env, ...DAEMON_ENV };

/** `CLIENTS` callers for `WINDOW_MS`, each awaiting one call at a time: calls per second and latencies. */
async function drive(call: () => Promise<unknown>): Promise<{ perSec: number; latencies: number[] }> {
  const latencies: number[] = [];
  const end = Date.now() + WINDOW_MS;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < end) {
        const t0 = process.hrtime.bigint();
        await call();
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  return { perSec: latencies.length / (WINDOW_MS / 1000), latencies: latencies.sort((a, b) => a - b) };
}

export default async function bench(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "qh-bench-"));
  const threads = os.availableParallelism();
  const results: BenchResult[] = [];
  const children: ChildProcess[] = [];
  const child = async (args: string[], ready: RegExp) => {
    const { child: c } = await startChild(args, ready, daemonEnv);
    children.push(c);
    return c;
  };
  const helperArgs = (socket: string, extra: string[], nodeFlags: string[] = []) => [
    ...DAEMON_NODE_ARGS,
    ...nodeFlags,
    path.join(distRoot, "src/cli/main.js"),
    "quote-helper",
    "--simulate",
    "--sim-state",
    path.join(dir, "state"),
    "--socket",
    socket,
    "--metrics-addr",
    "127.0.0.1:0",
    ...extra,
  ];
  try {
    const platform = await initPlatform(path.join(dir, "state"));
    const socket = path.join(dir, "aesm.socket");
    await child(helperArgs(socket, ["--workers", String(threads), "--max-queue", "1024"]), /quote helper listening/);
    const echoSocket = path.join(dir, "echo.socket");
    const signSocket = path.join(dir, "echo-sign.socket");
    const echoArgs = (s: string, extra: string[] = []) => [...DAEMON_NODE_ARGS, path.join(distRoot, "bench/support/echo-server.js"), s, ...extra];
    await child(echoArgs(echoSocket), /listening/);
    await child(echoArgs(signSocket, ["--sign-threads", String(threads)]), /listening/);

    const client = new QuoteExClient({ socketPath: socket });
    const report = ereportBytes(platform, simEnclaveIdentity(), decodeTargetInfo((await client.initQuoteEx(KEY, 32)).targetInfo), Buffer.alloc(64));
    const size = await client.getQuoteSizeEx(KEY);
    const quoteSized = Buffer.alloc(size, 1);
    const quoteReq = Buffer.from(encodeRequest({ kind: "getQuoteEx", report, attKeyId: KEY, bufSize: size, timeout: 15_000 }));
    const answer = await echoOnce(socket, quoteReq);
    if (decodeResponse(answer, "getQuoteEx").errorCode !== 0) throw new Error("the bench's GetQuoteEx request was refused");
    // A refusal (BUSY, an error) is a few bytes: every answer must be a whole quote.
    const quote = () =>
      echoOnce(socket, quoteReq).then((f) => {
        if (f.length !== answer.length) throw new Error(`a ${f.length}-byte answer instead of a ${answer.length}-byte quote`);
      });
    const viaLibrary = () => client.getQuoteEx(report, KEY, size);
    const echo = () => echoOnce(echoSocket, quoteSized);
    const echoSign = () => echoOnce(signSocket, quoteSized);
    // Warm every peer (workers started, code optimised), then alternate the two that are compared.
    await drive(quote);
    await drive(echoSign);
    const bare = await drive(echo);
    const ceiling: Awaited<ReturnType<typeof drive>>[] = [];
    const ours: typeof ceiling = [];
    for (let r = 0; r < ROUNDS; r++) {
      ceiling.push(await drive(echoSign));
      ours.push(await drive(quote));
    }
    const library = await drive(viaLibrary);
    const mean = (xs: { perSec: number }[]) => xs.reduce((a, b) => a + b.perSec, 0) / xs.length;
    const spread = ours.map((o, i) => o.perSec / ceiling[i].perSec).sort((a, b) => a - b);
    const lat = ours.flatMap((o) => o.latencies).sort((a, b) => a - b);
    results.push(
      ratioResult(`quotes/s, ${CLIENTS} clients, vs 4.7 KB echo + 1 P-256 signature on ${threads} threads`, mean(ours), mean(ceiling), "ops/s", { min: 0.6 },
        `${ROUNDS} alternating ${WINDOW_MS / 1000} s windows each, per-window ratios ${spread.map((x) => x.toFixed(2)).join(" ")}; the same client code and one ${quoteReq.length}-byte request frame per call ` +
          `(answer ${answer.length} bytes); quote latency p50 ${fmt(percentile(lat, 50))} ms, p99 ${fmt(percentile(lat, 99))} ms; through our QuoteExClient ${fmt(library.perSec)}/s ` +
          `(${fmt(library.perSec / mean(ceiling))}x); the bare ${size}-byte echo (no signature) does ${fmt(bare.perSec)}/s (quotes at ${fmt(mean(ours) / bare.perSec)}x of it); ` +
          `clients, servers and workers share ${threads} cores`),
    );

    // The daemon's round trip: the same client sends the same bytes to both (the real peer is Intel's
    // libsgx_quote_ex, not our client library, whose own cost is in the note).
    const sizeReq = Buffer.from(encodeRequest({ kind: "getQuoteSizeEx", attKeyId: KEY, timeout: 10_000 }));
    const sizeAnswer = (await echoOnce(socket, sizeReq)).length;
    const rtts = { ours: [] as number[], echo: [] as number[], library: [] as number[] };
    for (let r = 0; r < 5; r++) {
      rtts.ours.push(await timePerOp(() => echoOnce(socket, sizeReq), RTT_CALLS / 5));
      rtts.echo.push(await timePerOp(() => echoOnce(echoSocket, sizeReq), RTT_CALLS / 5));
      rtts.library.push(await timePerOp(() => client.getQuoteSizeEx(KEY), RTT_CALLS / 5));
    }
    const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[2]!;
    results.push(
      ratioResult("GetQuoteSizeEx round trip vs length-prefixed unix-socket echo", mid(rtts.ours), mid(rtts.echo), "µs", { max: 1.5 },
        `one connection per call on both sides, as libsgx_quote_ex does; the same ${sizeReq.length}-byte request frame from the same client (answer ${sizeAnswer} bytes); median of 5 interleaved rounds; through our QuoteExClient ${fmt(mid(rtts.library))} µs`),
    );

    // Idle: started afresh as the DaemonSet starts it (no quoting worker until the first request), read when settled, as its floor.
    const settled = async (args: string[], ready: RegExp) => {
      const { child: c } = await startChild(args, ready, daemonEnv);
      try {
        return await settledRss(c, Promise.resolve());
      } finally {
        await stopChild(c);
      }
    };
    const [idle, floor] = await Promise.all([
      medianSettledRss((i) => settled(helperArgs(path.join(dir, `idle-${i}.socket`), [], [TRACE_GC_FLAG]), /quote helper listening/)),
      medianSettledRss((i) => settled([...DAEMON_NODE_ARGS, TRACE_GC_FLAG, path.join(distRoot, "bench/support/floor.js"), path.join(dir, `floor-${i}.socket`)], /listening/)),
    ]);
    results.push(
      ratioResult("quote helper idle RSS (no quoting worker while idle, the default) vs floor", idle.mib, floor.mib, "MiB", { max: 1.15 },
        `floor: Node + protobuf-es and the AESM schema + a listening socket; both run as the DaemonSet runs the helper (${DAEMON_NODE_ARGS.join(" ")}, GLIBC_TUNABLES=${DAEMON_ENV.GLIBC_TUNABLES}; ` +
          `plus ${TRACE_GC_FLAG} to see their GCs), ${RSS_COPIES} of each side by side, each read 3 s after V8's memory-reducing GCs; helper: ${describeRss(idle, "listening")}; floor: ${describeRss(floor, "listening")}`),
    );
  } finally {
    await Promise.all(children.map((c) => stopChild(c)));
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
