// The service under load and abuse: concurrency, fuzzed frames, oversized and stalled frames, BUSY,
// kill -9 and restart, a second instance, and SIGTERM with requests in flight.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import path from "node:path";
import { existsSync, statSync } from "node:fs";
import { setTimeout as settle } from "node:timers/promises";
import fc from "fast-check";
import { QuoteExClient, QuoteExError } from "../../src/aesm/client.js";
import { SgxStatus } from "../../src/aesm/error-codes.js";
import { encodeFrame } from "../../src/aesm/framing.js";
import { encodeRequest } from "../../src/aesm/messages.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/constants.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { onceWithin, within } from "../support/timeout.js";
import { appReport, metricsText, openFds, rawCall, rssKiB, runCli, simPlatform, startHelper, tempDir, type HelperProcess } from "./support.js";

const KEY = DEFAULT_ECDSA_ATT_KEY_ID;
let tmp: ReturnType<typeof tempDir>;
let platform: SimPlatform;
let helper: HelperProcess;
let report: Buffer;
let quoteSize: number;

before(async () => {
  tmp = tempDir("qh-robust-");
  platform = await simPlatform(tmp.dir);
  helper = await startHelper(platform.dir, path.join(tmp.dir, "aesm.socket"), ["--workers", "2", "--read-timeout-ms", "600"]);
  const c = new QuoteExClient({ socketPath: helper.socket });
  report = appReport(platform, (await c.initQuoteEx(KEY, 32)).targetInfo);
  quoteSize = await c.getQuoteSizeEx(KEY);
});
after(async () => {
  if (helper.child.exitCode === null) await helper.stop();
  tmp.cleanup();
});

/** Polls until `pred` holds or the bound passes; returns whether it held. */
async function eventually(pred: () => boolean, boundMs = 5000): Promise<boolean> {
  for (const end = Date.now() + boundMs; Date.now() < end; await settle(50)) if (pred()) return true;
  return pred();
}

function getQuotes(socketPath: string, n: number) {
  const c = new QuoteExClient({ socketPath });
  return Promise.allSettled(Array.from({ length: n }, () => c.getQuoteEx(report, KEY, quoteSize)));
}

test("256 concurrent clients are all served", async () => {
  const results = await getQuotes(helper.socket, 256);
  const failed = results.filter((r) => r.status === "rejected");
  assert.equal(failed.length, 0, String((failed[0] as PromiseRejectedResult | undefined)?.reason));
  for (const r of results) assert.equal((r as PromiseFulfilledResult<{ quote: Buffer }>).value.quote.length, quoteSize);
});

test("fuzzed frames never crash the service nor leak sockets", async () => {
  const pid = helper.child.pid!;
  await eventually(() => openFds(pid) > 0);
  const fdsBefore = openFds(pid);
  const valid = Buffer.from(encodeRequest({ kind: "getQuoteEx", report, attKeyId: KEY, bufSize: quoteSize, timeout: 15000 }));
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 600 }),
    // mutations of a real request reach deeper than random bytes
    fc.tuple(fc.nat(valid.length - 1), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, b]) => {
      const m = Buffer.from(valid);
      m.set(b.subarray(0, m.length - at), at);
      return m;
    }),
    fc.nat(valid.length).map((n) => valid.subarray(0, n)),
  );
  // A frame, sometimes cut short (the client then closes its side).
  const frame = fc
    .tuple(payload, fc.boolean(), fc.nat(700))
    .map(([p, whole, cut]) => ({ bytes: whole ? encodeFrame(p) : encodeFrame(p).subarray(0, cut), cutShort: !whole && cut < p.length + 4 }));
  await fc.assert(
    fc.asyncProperty(fc.array(frame, { minLength: 8, maxLength: 8 }), async (frames) => {
      await Promise.all(frames.map((f) => rawCall(helper.socket, f.bytes, 5000, f.cutShort).catch((e: Error) => assert.fail(`client error: ${e.message}`))));
    }),
    { numRuns: 300 },
  );
  assert.equal(helper.child.exitCode, null, "still running");
  assert.equal((await new QuoteExClient({ socketPath: helper.socket }).getQuoteEx(report, KEY, quoteSize)).quote.length, quoteSize);
  assert.ok(await eventually(() => openFds(pid) <= fdsBefore), `fds: ${fdsBefore} before, ${openFds(pid)} after`);
  assert.match(await metricsText(helper.metricsPort), /confcom_quotehelper_requests_total\{type="unparseable",result="closed"\} [1-9]/);
});

test("a 4 GiB length prefix is refused without allocating", async () => {
  const pid = helper.child.pid!;
  const before = rssKiB(pid);
  for (let i = 0; i < 4; i++) assert.equal(await rawCall(helper.socket, Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])), undefined);
  await settle(200);
  assert.ok(rssKiB(pid) - before < 32 * 1024, `RSS grew from ${before} KiB to ${rssKiB(pid)} KiB`);
  assert.match(helper.stderr(), /frame of 4294967295 bytes exceeds the limit of 65536/);
});

test("a client that sends half a frame and stalls is cut at the read deadline", async () => {
  const s = net.createConnection(helper.socket);
  await onceWithin(s, "connect", 10_000, "the connection to the helper");
  const start = Date.now();
  s.write(Buffer.from([100, 0, 0, 0, 1, 2, 3]));
  s.resume();
  await onceWithin(s, "close", 10_000, "the helper to cut the stalled client (read deadline 600 ms)");
  const elapsed = Date.now() - start;
  assert.ok(elapsed >= 500, `cut after ${elapsed} ms, before the 600 ms deadline`);
  assert.ok(elapsed < 10_000, `cut only after ${elapsed} ms`);
});

test("a live AESM service that is not a confcom quote helper is left alone: the second instance refuses to start", async (t) => {
  // (A second confcom quote helper takes the socket over instead: see handover.test.ts.)
  const socket = path.join(tmp.dir, "other-aesm.socket");
  const other = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => other.listen(socket, r));
  t.after(() => new Promise<void>((r) => other.close(() => r())));
  const before = statSync(socket).ino;
  const r = await runCli(["quote-helper", "--simulate", "--sim-state", platform.dir, "--socket", socket, "--metrics-addr", "127.0.0.1:0"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /is in use: another AESM service is accepting connections there; stop it first \(not a confcom quote helper/);
  assert.equal(statSync(socket).ino, before, "its socket is untouched");
});

test("socket mode and group are applied; at --max-connections a new connection evicts the oldest idle one", async (t) => {
  const socket = path.join(tmp.dir, "new-dir/limits.socket");
  const gid = process.getgid!();
  const h = await startHelper(platform.dir, socket, ["--workers", "1", "--socket-mode", "0660", "--socket-group", String(gid), "--max-connections", "2", "--read-timeout-ms", "3000"]);
  t.after(() => h.stop());
  const st = statSync(socket);
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.gid, gid);
  assert.equal(statSync(helper.socket).mode & 0o777, 0o777, "default mode is aesmd's 0777");
  const idle = await within(Promise.all([0, 1].map(() => new Promise<net.Socket>((resolve) => { const s = net.createConnection(socket, () => resolve(s)); }))), 10_000, "two idle connections");
  try {
    await settle(100);
    const oldestClosed = new Promise<number>((r) => idle[0].once("close", () => r(Date.now())));
    const start = Date.now();
    assert.notEqual(await rawCall(socket, encodeFrame(encodeRequest({ kind: "getSupportedAttKeyIdNum" }))), undefined, "third connection served");
    assert.ok((await oldestClosed) - start < 2500, "the oldest idle connection evicted at once, not at the read deadline");
    assert.equal(idle[1].destroyed, false, "the newer idle connection kept");
  } finally {
    for (const s of idle) s.destroy();
  }
  await settle(100);
  assert.equal(await new QuoteExClient({ socketPath: socket }).getSupportedAttKeyIdNum(), 1, "served again once below the limit");
  assert.match(h.stderr(), /too many open connections/);
});

test("queue full: BUSY (18), seen by the client as SGX_ERROR_BUSY", async (t) => {
  const busy = await startHelper(platform.dir, path.join(tmp.dir, "busy.socket"), ["--workers", "1", "--max-queue", "1"]);
  t.after(() => busy.stop());
  const results = await getQuotes(busy.socket, 200);
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as QuoteExError);
  assert.ok(rejected.length > 0, "some requests must find the queue full");
  for (const e of rejected) assert.equal(e.status, SgxStatus.SGX_ERROR_BUSY, e.message);
  assert.ok(results.length - rejected.length >= 2, "the worker and the queue slot are served");
  assert.match(await metricsText(busy.metricsPort), /confcom_quotehelper_requests_total\{type="getQuoteEx",result="BUSY"\} [1-9]/);
});

test("kill -9: SERVICE_UNAVAILABLE while down, served again after a restart over the stale socket", async () => {
  const socket = path.join(tmp.dir, "crash.socket");
  const first = await startHelper(platform.dir, socket, ["--workers", "1"]);
  first.child.kill("SIGKILL");
  await within(first.exited, 30_000, "the first quote helper to exit");
  assert.ok(existsSync(socket), "a crash leaves the socket file behind");
  await assert.rejects(new QuoteExClient({ socketPath: socket }).getSupportedAttKeyIdNum(), (e: unknown) => e instanceof QuoteExError && e.status === SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE);
  const second = await startHelper(platform.dir, socket, ["--workers", "1"]);
  try {
    assert.equal((await new QuoteExClient({ socketPath: socket }).getQuoteEx(report, KEY, quoteSize)).quote.length, quoteSize);
  } finally {
    assert.equal(await second.stop(), 0);
  }
});

test("SIGTERM with requests in flight: all accepted requests are answered, then exit 0 and the socket is gone", async () => {
  const socket = path.join(tmp.dir, "drain.socket");
  const h = await startHelper(platform.dir, socket, ["--workers", "1"]);
  const c = new QuoteExClient({ socketPath: socket });
  let signalled = false;
  const calls = Array.from({ length: 128 }, () =>
    c.getQuoteEx(report, KEY, quoteSize).then((r) => {
      if (!signalled) {
        signalled = true;
        h.child.kill("SIGTERM");
      }
      return r;
    }),
  );
  const results = await Promise.allSettled(calls);
  assert.equal(await within(h.exited, 30_000, "the quote helper to exit"), 0);
  assert.ok(!existsSync(socket), "socket removed");
  const ok = results.filter((r) => r.status === "fulfilled").length;
  for (const r of results) {
    if (r.status === "rejected") assert.match((r.reason as Error).message, /cannot connect/, "only connections after the close may fail");
  }
  assert.ok(ok > 1, `${ok} answered`);
});
