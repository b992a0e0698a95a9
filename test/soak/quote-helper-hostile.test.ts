// Issue 9 items 4 and 5, hostile tenants against the real daemon (a child process):
// - slow readers of huge GetQuoteEx buffers must not grow the helper towards its memory limit (run with
//   the DaemonSet's NODE_OPTIONS; peak RSS is the kernel's high-water mark, VmHWM);
// - a local user holding idle connections (the socket is 0777) must not starve other tenants nor flood
//   the node's logs: at the cap a new connection evicts the oldest one that has not sent its request,
//   and the warning is one line per interval with counts.
// Small counts in `npm test`, the counts with SOAK_SCALE=full (`npm run test:soak`).
import assert from "node:assert/strict";
import net from "node:net";
import path from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as settle } from "node:timers/promises";
import { QuoteExClient } from "../../src/aesm/client.js";
import { encodeFrame } from "../../src/aesm/framing.js";
import { encodeRequest } from "../../src/aesm/messages.js";
import { DAEMON_NODE_ARGS } from "../../src/common/node-options.js";
import { DEFAULT_ECDSA_ATT_KEY_ID as KEY } from "../../src/sgx/constants.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { appReport, hwmKiB, metricsText, simPlatform, startHelper, tempDir } from "../quotehelper/support.js";
import { scale, summary } from "./scale.js";

let tmp: ReturnType<typeof tempDir>;
let platform: SimPlatform;

before(async () => {
  tmp = tempDir("qh-hostile-");
  platform = await simPlatform(tmp.dir);
});
after(() => tmp.cleanup());

// The count in both runs: idle slow readers cost the test little.
const SLOW_CLIENTS = 250;
const BUF_SIZE = 1024 * 1024;
/** Issue 9's target, with the DaemonSet's 256 Mi limit well above it. */
const PEAK_BOUND_MIB = 160;

/** Connects, sends one GetQuoteEx asking for `bufSize`, then reads nothing (a slow reader at its worst). */
function slowReader(socketPath: string, request: Uint8Array): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(socketPath);
    s.once("error", reject);
    s.once("connect", () => {
      s.removeListener("error", reject);
      s.on("error", () => undefined);
      s.write(encodeFrame(request));
      s.pause();
      resolve(s);
    });
  });
}

test(`${SLOW_CLIENTS} slow readers of 1 MiB GetQuoteEx buffers: peak RSS under ${PEAK_BOUND_MIB} MiB, legitimate clients still served`, { timeout: 120_000 }, async () => {
  const h = await startHelper(platform.dir, path.join(tmp.dir, "mem.socket"), ["--workers", "2", "--read-timeout-ms", "5000"], { nodeArgs: DAEMON_NODE_ARGS });
  const sockets: net.Socket[] = [];
  try {
    const client = new QuoteExClient({ socketPath: h.socket, timeoutMs: 20_000 });
    const report = appReport(platform, (await client.initQuoteEx(KEY, 32)).targetInfo);
    const quoteSize = await client.getQuoteSizeEx(KEY);
    const hwmIdle = hwmKiB(h.child.pid!);
    const request = encodeRequest({ kind: "getQuoteEx", report, attKeyId: KEY, bufSize: BUF_SIZE, timeout: 15000 });
    for (let i = 0; i < SLOW_CLIENTS; i += 25) {
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(25, SLOW_CLIENTS - i) }, () => slowReader(h.socket, request)))));
    }
    // Quotes for the slow readers are made and (partly) sent while legitimate clients keep asking.
    let served = 0;
    const legit = await Promise.allSettled(
      Array.from({ length: 20 }, async (_, i) => {
        await settle(i * 50);
        const { quote } = await client.getQuoteEx(report, KEY, quoteSize);
        if (quote.length === quoteSize) served++;
      }),
    );
    await settle(1000);
    const hwm = hwmKiB(h.child.pid!);
    summary("quote-helper-slow-readers", { slowClients: SLOW_CLIENTS, bufSize: BUF_SIZE, hwmIdleMiB: (hwmIdle / 1024).toFixed(1), hwmPeakMiB: (hwm / 1024).toFixed(1), legitServed: served });
    assert.equal(h.child.exitCode, null, "still running");
    assert.equal(served, legit.length, `legitimate calls served: ${served} of ${legit.length}; ${legit.find((r) => r.status === "rejected")?.status === "rejected" ? String((legit.find((r) => r.status === "rejected") as PromiseRejectedResult).reason) : ""}`);
    assert.ok(hwm < PEAK_BOUND_MIB * 1024, `peak RSS ${(hwm / 1024).toFixed(1)} MiB (idle ${(hwmIdle / 1024).toFixed(1)} MiB)`);
    // 250 padded answers are far over the 16 MiB unsent-bytes budget: the readers that took nothing go first.
    assert.match(await metricsText(h.metricsPort), /confcom_quotehelper_connections_dropped_total\{reason="shed-slow-reader"\} [1-9]/);
  } finally {
    for (const s of sockets) s.destroy();
    assert.equal(await h.stop(), 0, h.stderr().slice(-2000));
  }
});

const MAX_CONNECTIONS = scale(64, 1024);
const IDLE_SOCKETS = scale(200, 1100);
const LEGIT_CALLS = scale(24, 56);
/** The full run reconnects at once; the small one pauses, to leave CPU to the tests running beside it. */
const RECONNECT_MS = scale(500, 1);
const WINDOW_MS = scale(4_000, 15_000);
/** The helper's throttled warnings: one line per reason per 10 s interval, plus the first. */
const LOG_INTERVAL_MS = 10_000;

/** `n` connections that never send a byte; each one the server closes is opened again. */
function idleFlood(socketPath: string, n: number): { stop(): void; reconnects(): number } {
  let stopped = false;
  let reconnects = 0;
  const live = new Set<net.Socket>();
  const open = () => {
    if (stopped) return;
    const s = net.createConnection(socketPath);
    live.add(s);
    s.on("error", () => undefined);
    s.once("close", () => {
      live.delete(s);
      reconnects++;
      if (!stopped) setTimeout(open, RECONNECT_MS);
    });
  };
  for (let i = 0; i < n; i++) open();
  return {
    stop: () => {
      stopped = true;
      for (const s of live) s.destroy();
    },
    reconnects: () => reconnects,
  };
}

test(`${IDLE_SOCKETS} idle connections against --max-connections ${MAX_CONNECTIONS}: >= 80% of legitimate calls answered, warnings throttled`, { timeout: WINDOW_MS + 90_000 }, async () => {
  const h = await startHelper(platform.dir, path.join(tmp.dir, "conn.socket"), ["--workers", "2", "--max-connections", String(MAX_CONNECTIONS)]);
  const client = new QuoteExClient({ socketPath: h.socket, timeoutMs: 15_000 });
  const report = appReport(platform, (await client.initQuoteEx(KEY, 32)).targetInfo);
  const quoteSize = await client.getQuoteSizeEx(KEY);
  const flood = idleFlood(h.socket, IDLE_SOCKETS);
  try {
    await settle(500);
    const t0 = Date.now();
    const results = await Promise.allSettled(
      Array.from({ length: LEGIT_CALLS }, async (_, i) => {
        await settle((i * WINDOW_MS) / LEGIT_CALLS);
        const { quote } = await client.getQuoteEx(report, KEY, quoteSize);
        assert.equal(quote.length, quoteSize);
      }),
    );
    const elapsed = Date.now() - t0;
    const answered = results.filter((r) => r.status === "fulfilled").length;
    const stderr = h.stderr();
    const limitLines = stderr.split("\n").filter((l) => l.includes("too many open connections")).length;
    const warnLines = stderr.split("\n").filter((l) => l.includes('"level":"warn"')).length;
    const metrics = await metricsText(h.metricsPort);
    const evicted = Number(/connections_dropped_total\{reason="evicted-idle"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    summary("quote-helper-idle-flood", { maxConnections: MAX_CONNECTIONS, idleSockets: IDLE_SOCKETS, legitCalls: LEGIT_CALLS, answered, window: `${elapsed}ms`, evicted, reconnects: flood.reconnects(), limitLines, warnLines });
    const firstFailure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    assert.ok(answered >= 0.8 * LEGIT_CALLS, `${answered} of ${LEGIT_CALLS} answered; first failure: ${String(firstFailure?.reason)}`);
    assert.ok(evicted > 0, "the flood reached the cap and idle connections were evicted");
    // Two reasons (evicted, refused), each at most one line per interval plus its first.
    const bound = 2 * (Math.ceil(elapsed / LOG_INTERVAL_MS) + 2);
    assert.ok(limitLines >= 1 && limitLines <= bound, `${limitLines} limit warnings in ${elapsed} ms (bound ${bound})`);
    assert.ok(warnLines <= 3 * bound, `${warnLines} warning lines in ${elapsed} ms`);
  } finally {
    flood.stop();
    assert.equal(await h.stop(), 0, h.stderr().slice(-2000));
  }
});
