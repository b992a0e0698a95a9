// Handover (issue 13): a new quote helper takes the socket over from a running one while clients keep
// calling GetQuoteEx, with no failed call, and the old one exits 0. Anything that is not a confcom quote
// helper of a compatible protocol is left alone.
import assert from "node:assert/strict";
import { promises as fs } from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, test } from "node:test";
import { setTimeout as settle } from "node:timers/promises";
import { QuoteExClient } from "../../src/aesm/client.js";
import { controlCall, controlPathFor, CONTROL_PRODUCT } from "../../src/quotehelper/handover/control.js";
import { parseBuildInfo } from "../../src/quotehelper/build-info.js";
import { DEFAULT_ECDSA_ATT_KEY_ID, INTEL_QE3_MRSIGNER } from "../../src/sgx/constants.js";
import { scale, secs, summary } from "../soak/scale.js";
import { appReport, metricsText, platformFixture, runCli, startHelper, type HelperProcess } from "./support.js";

const KEY = DEFAULT_ECDSA_ATT_KEY_ID;
const CLIENTS = 4;
const HANDOVERS = scale(3, 30);
const BETWEEN_MS = 500;

const fx = platformFixture("qh-handover-");

/** Resolves with the exit code, or rejects after `ms`: a helper that never exits fails the test. */
function exitWithin(h: HelperProcess, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    h.exited.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`helper pid ${h.child.pid} did not exit within ${ms} ms:\n${h.stderr()}`)), ms))),
  ]);
}

test(`handover under load: ${CLIENTS} clients calling GetQuoteEx while the helper is replaced ${HANDOVERS} times: 0 failed calls, old ones exit 0`, async () => {
  const socket = path.join(fx.dir, "aesm.socket");
  let current = await startHelper(fx.platform.dir, socket, ["--workers", "1"]);
  const client = new QuoteExClient({ socketPath: socket, timeoutMs: 10_000 });
  const report = appReport(fx.platform, (await client.initQuoteEx(KEY, 32)).targetInfo);
  const quoteSize = await client.getQuoteSizeEx(KEY);
  let ok = 0;
  const failures: string[] = [];
  let running = true;
  const started = Date.now();
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (running) {
      try {
        const { quote } = await client.getQuoteEx(report, KEY, quoteSize);
        assert.equal(quote.length, quoteSize);
        ok++;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  });
  const exitCodes: (number | null)[] = [];
  const timings: string[] = [];
  try {
    for (let i = 0; i < HANDOVERS; i++) {
      await settle(BETWEEN_MS);
      const t0 = Date.now();
      const next = await startHelper(fx.platform.dir, socket, ["--workers", "1"]);
      const t1 = Date.now();
      assert.match(next.stderr(), /took the socket over/);
      exitCodes.push(await exitWithin(current, 10_000));
      timings.push(`${t1 - t0}+${Date.now() - t1}ms`);
      assert.match(current.stderr(), /handed over/);
      current = next;
    }
    await settle(BETWEEN_MS);
  } finally {
    running = false;
    await Promise.all(loops);
  }
  const text = await metricsText(current.metricsPort);
  assert.equal(await current.stop(), 0);
  summary("quote-helper handover", { clients: CLIENTS, load: secs(Date.now() - started), handovers: exitCodes.length, startPlusExit: timings.join(","), calls: ok, failed: failures.length });
  assert.equal(exitCodes.length, HANDOVERS);
  assert.deepEqual(exitCodes, exitCodes.map(() => 0), "every replaced helper exits 0");
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failed calls`);
  assert.ok(ok > exitCodes.length * CLIENTS, `only ${ok} calls answered`);
  assert.match(text, /^confcom_quotehelper_handovers_total\{role="took-over"\} 1$/m);
  await assert.rejects(fs.lstat(socket), /ENOENT/, "the last helper removes its socket on SIGTERM");
});

test("/metrics carries the build info; parseBuildInfo reads it back", async () => {
  const socket = path.join(fx.dir, "info.socket");
  const h = await startHelper(fx.platform.dir, socket, ["--workers", "1"]);
  try {
    const text = await metricsText(h.metricsPort);
    const line = text.split("\n").find((l) => l.startsWith("confcom_quotehelper_build_info{"));
    assert.match(line ?? "", /^confcom_quotehelper_build_info\{version="\d+\.\d+\.\d+[^"]*",backend="simulated",backend_version="confcom-sim-[^"]+",qe_identity="mrsigner=[0-9a-f]{64},isvprodid=1,isvsvn=\d+"\} 1$/);
    const info = parseBuildInfo(text);
    assert.equal(info?.backend, "simulated");
    assert.equal(info?.qeIdentity, `mrsigner=${Buffer.from(INTEL_QE3_MRSIGNER).toString("hex")},isvprodid=1,isvsvn=${fx.platform.qe.isvSvn}`);
    assert.match(h.stderr(), /"qeIdentity":"mrsigner=[0-9a-f]{64},isvprodid=1,isvsvn=\d+".*"quote helper listening"/);
    assert.equal(parseBuildInfo("# no such metric\nup 1\n"), undefined);
    assert.deepEqual(parseBuildInfo('confcom_quotehelper_build_info{version="1.2.3",backend="dcap",backend_version="1.20.100.2",qe_identity="a\\"b\\\\c"} 1\n'), {
      version: "1.2.3",
      backend: "dcap",
      backendVersion: "1.20.100.2",
      qeIdentity: 'a"b\\c',
    });
  } finally {
    assert.equal(await h.stop(), 0);
  }
});

test("a confcom helper speaking another handover protocol is refused and left serving", async (t) => {
  const socket = path.join(fx.dir, "future.socket");
  const aesm = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => aesm.listen(socket, r));
  const st = await fs.lstat(socket, { bigint: true });
  const control = net.createServer((s) =>
    s.once("data", () =>
      s.end(`${JSON.stringify({ product: CONTROL_PRODUCT, protocol: 99, version: "9.0.0", pid: 1, backend: "dcap", socket: { dev: String(st.dev), ino: String(st.ino) } })}\n`),
    ),
  );
  await new Promise<void>((r) => control.listen(controlPathFor(socket), r));
  t.after(() => Promise.all([aesm, control].map((s) => new Promise<void>((r) => s.close(() => r())))));
  const r = await runCli(["quote-helper", "--simulate", "--sim-state", fx.platform.dir, "--socket", socket, "--metrics-addr", "127.0.0.1:0"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /served by confcom quote helper 9\.0\.0 \(pid 1\) speaking handover protocol 99; this one \(.+\) takes over only protocol 1: stop it first/);
  assert.equal((await fs.lstat(socket, { bigint: true })).ino, st.ino, "its socket is untouched");
});

test("hostile control requests: malformed lines and a handover naming a socket that is not at the path change nothing", async () => {
  const socket = path.join(fx.dir, "hostile.socket");
  const h = await startHelper(fx.platform.dir, socket, ["--workers", "1"]);
  try {
    const ctl = controlPathFor(socket);
    assert.equal(((await fs.lstat(ctl)).mode & 0o777), 0o600);
    assert.deepEqual(await controlCall(ctl, JSON.parse('{"op":"nope"}')), { ok: false, error: "unknown op" });
    const raw = await new Promise<string>((resolve) => {
      const s = net.connect(ctl, () => s.write("x".repeat(10_000)));
      let got = "";
      s.on("data", (d: Buffer) => (got += d.toString()));
      s.on("close", () => resolve(got));
      s.on("error", () => resolve(got));
    });
    assert.equal(raw, "", "an over-long line is dropped without an answer");
    const forged = await controlCall(ctl, { op: "handover", pid: 1, version: "x", socket: { dev: "1", ino: "2" } });
    assert.deepEqual(forged, { ok: false, error: "the socket named is not at the socket path" });
    const own = await fs.lstat(socket, { bigint: true });
    const self = await controlCall(ctl, { op: "handover", pid: 1, version: "x", socket: { dev: String(own.dev), ino: String(own.ino) } });
    assert.deepEqual(self, { ok: false, error: "that socket is our own" });
    assert.equal(await new QuoteExClient({ socketPath: socket }).getSupportedAttKeyIdNum(), 1);
    assert.equal(h.child.exitCode, null);
  } finally {
    assert.equal(await h.stop(), 0);
  }
});
