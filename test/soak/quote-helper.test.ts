// The quote helper (a real child process) under sustained load from 256 clients mixed with fuzzed
// frames, and SIGTERM in the middle of such load.
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as settle } from "node:timers/promises";
import { QuoteExClient, QuoteExError } from "../../src/aesm/client.js";
import { SgxStatus } from "../../src/aesm/error-codes.js";
import { encodeFrame } from "../../src/aesm/framing.js";
import { encodeRequest } from "../../src/aesm/messages.js";
import { DAEMON_NODE_ARGS } from "../../src/common/node-options.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/constants.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { appReport, openFds, rawCall, rssKiB, simPlatform, startHelper, tempDir, type HelperProcess } from "../quotehelper/support.js";
import { mib, scale, secs, summary } from "./scale.js";
import { within } from "../support/timeout.js";

const KEY = DEFAULT_ECDSA_ATT_KEY_ID;
const CLIENTS = 256;
const LOAD_MS = scale(3_000, 30_000);
const FUZZ_SHARE = 0.2;
const WORKERS = 2;
// Each of the 256 clients holds at most one connection at a time, and the daemon one fd per connection;
// the rest (worker threads' pipes, epoll, the ops server) is fixed. So open fds stay under idle + 256 +
// a little slack, and go back to the idle count once the load stops.
const FD_SLACK = 32;
// Request frames are capped at 64 KiB (--max-frame-size) and quotes are ~4.6 KiB, so 256 connections
// buffer at most 16 MiB; V8's heap and the worker threads' young generations add their own growth.
// 256 MiB over the warmed-up RSS is far above that and far below a leak at this request rate, and
// after the load RSS must fall back within 64 MiB of the warmed-up value.
const RSS_PEAK_BOUND_KIB = 256 * 1024;
const RSS_SETTLED_BOUND_KIB = 64 * 1024;

let tmp: ReturnType<typeof tempDir>;
let platform: SimPlatform;
let report: Buffer;
let quoteSize: number;
let validRequest: Buffer;

before(async () => {
  tmp = tempDir("confcom-soak-qh-");
  platform = await simPlatform(tmp.dir);
});
after(() => tmp.cleanup());

async function helperFor(name: string): Promise<HelperProcess> {
  // Run with the DaemonSet's V8 options, so that the RSS bounds below are the ones a node sees.
  const h = await startHelper(platform.dir, path.join(tmp.dir, `${name}.socket`), ["--workers", String(WORKERS), "--max-queue", "1024", "--read-timeout-ms", "1000"], { nodeArgs: DAEMON_NODE_ARGS });
  const c = new QuoteExClient({ socketPath: h.socket });
  report ??= appReport(platform, (await c.initQuoteEx(KEY, 32)).targetInfo);
  quoteSize ??= await c.getQuoteSizeEx(KEY);
  validRequest ??= Buffer.from(encodeRequest({ kind: "getQuoteEx", report, attKeyId: KEY, bufSize: quoteSize, timeout: 15000 }));
  return h;
}

/** Random bytes, a mutated real request, or a truncated one; framed, sometimes cut short. */
function fuzzFrame(): Buffer {
  const kind = randomInt(3);
  let payload: Buffer;
  if (kind === 0) payload = randomBytes(randomInt(600));
  else if (kind === 1) {
    payload = Buffer.from(validRequest);
    const at = randomInt(payload.length);
    randomBytes(Math.min(8, payload.length - at)).copy(payload, at);
  } else payload = validRequest.subarray(0, randomInt(validRequest.length));
  const frame = encodeFrame(payload);
  return randomInt(2) === 0 ? Buffer.from(frame) : Buffer.from(frame).subarray(0, randomInt(frame.length + 1));
}

test(`quote helper: ${CLIENTS} clients for ${LOAD_MS / 1000} s with ${FUZZ_SHARE * 100}% fuzzed frames; no crash, bounded RSS and fds`, { timeout: LOAD_MS + 120_000 }, async () => {
  const h = await helperFor("load");
  const pid = h.child.pid!;
  try {
    const client = new QuoteExClient({ socketPath: h.socket, timeoutMs: 30_000 });
    // Warm up: workers started, caches and pools at their working size.
    await Promise.all(Array.from({ length: CLIENTS }, () => client.getQuoteEx(report, KEY, quoteSize)));
    await settle(500);
    const fdsIdle = openFds(pid);
    const rssWarm = rssKiB(pid);
    let fdsPeak = fdsIdle;
    let rssPeak = rssWarm;
    const sampler = setInterval(() => {
      fdsPeak = Math.max(fdsPeak, openFds(pid));
      rssPeak = Math.max(rssPeak, rssKiB(pid));
    }, 100);
    let quotes = 0;
    let fuzzed = 0;
    let fuzzAnswered = 0;
    const failures: string[] = [];
    const t0 = Date.now();
    const end = t0 + LOAD_MS;
    const loop = async () => {
      while (Date.now() < end) {
        if (Math.random() < FUZZ_SHARE) {
          fuzzed++;
          try {
            if ((await rawCall(h.socket, fuzzFrame(), 10_000, true)) !== undefined) fuzzAnswered++;
          } catch (e) {
            failures.push(`fuzzed frame: ${(e as Error).message}`);
          }
        } else {
          try {
            const { quote } = await client.getQuoteEx(report, KEY, quoteSize);
            if (quote.length === quoteSize) quotes++;
            else failures.push(`quote of ${quote.length} bytes`);
          } catch (e) {
            failures.push(`valid request: ${(e as Error).message}`);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, loop));
    const elapsed = Date.now() - t0;
    clearInterval(sampler);
    await settle(1500);
    const fdsAfter = openFds(pid);
    const rssAfter = rssKiB(pid);
    summary("quote-helper-load", {
      clients: CLIENTS,
      duration: secs(elapsed),
      quotes,
      quotesPerSec: Math.round((quotes * 1000) / elapsed),
      fuzzed,
      fuzzAnswered,
      failures: failures.length,
      rssWarm: mib(rssWarm),
      rssPeak: mib(rssPeak),
      rssAfter: mib(rssAfter),
      fdsIdle,
      fdsPeak,
      fdsAfter,
      fdBound: fdsIdle + CLIENTS + FD_SLACK,
    });
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failures`);
    assert.equal(h.child.exitCode, null, "no crash");
    assert.ok(quotes > 0 && fuzzed > 0);
    assert.ok(fdsPeak <= fdsIdle + CLIENTS + FD_SLACK, `fds peaked at ${fdsPeak} (idle ${fdsIdle})`);
    assert.ok(fdsAfter <= fdsIdle + 2, `fds ${fdsAfter} after the load, ${fdsIdle} before`);
    assert.ok(rssPeak - rssWarm <= RSS_PEAK_BOUND_KIB, `RSS peaked at ${mib(rssPeak)} from ${mib(rssWarm)}`);
    assert.ok(rssAfter - rssWarm <= RSS_SETTLED_BOUND_KIB, `RSS ${mib(rssAfter)} after the load, ${mib(rssWarm)} warmed up`);
  } finally {
    assert.equal(await h.stop(), 0, h.stderr());
  }
});

test(`quote helper: SIGTERM under load from ${CLIENTS} clients; every request answered or cleanly refused, exit 0`, { timeout: 120_000 }, async () => {
  const h = await helperFor("sigterm");
  const client = new QuoteExClient({ socketPath: h.socket, timeoutMs: 30_000 });
  let quotes = 0;
  let refused = 0;
  let closedWithoutAnswer = 0;
  const other: string[] = [];
  let stopped = false;
  const loop = async () => {
    while (!stopped || h.child.exitCode === null) {
      try {
        const { quote } = await client.getQuoteEx(report, KEY, quoteSize);
        if (quote.length === quoteSize) quotes++;
        else other.push(`quote of ${quote.length} bytes`);
      } catch (e) {
        // after the signal: the listener is closed (cannot connect) or, at worst, the connection is
        // closed without an answer; a timeout would be a hang.
        if (e instanceof QuoteExError && e.status === SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE && stopped) refused++;
        else if (e instanceof QuoteExError && e.status === SgxStatus.SGX_ERROR_UNEXPECTED && stopped) closedWithoutAnswer++;
        else other.push((e as Error).message);
        return;
      }
    }
  };
  const t0 = Date.now();
  const clients = Array.from({ length: CLIENTS }, loop);
  await settle(scale(1_000, 5_000));
  const quotesBeforeSignal = quotes;
  stopped = true;
  const s0 = Date.now();
  h.child.kill("SIGTERM");
  const code = await within(h.exited, 30_000, "the quote helper to exit");
  const drainMs = Date.now() - s0;
  await Promise.all(clients);
  summary("quote-helper-sigterm", {
    clients: CLIENTS,
    loadBeforeSignal: secs(s0 - t0),
    quotesBeforeSignal,
    quotesTotal: quotes,
    answeredAfterSignal: quotes - quotesBeforeSignal,
    refusedAfterClose: refused,
    closedWithoutAnswer,
    otherErrors: other.length,
    drain: `${drainMs}ms`,
    exitCode: String(code),
  });
  assert.equal(code, 0, h.stderr());
  assert.ok(!existsSync(h.socket), "socket removed");
  assert.deepEqual(other.slice(0, 5), [], "no hang, no other error");
  assert.equal(closedWithoutAnswer, 0, "accepted requests are answered before the exit");
  assert.ok(quotesBeforeSignal > 0);
});
