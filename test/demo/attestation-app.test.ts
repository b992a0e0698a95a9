// The attestation sample end to end: a real PCCS, a real quote helper child, the app as a child process.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { silentLogger } from "../../src/common/log.js";
import { startPccs, type PccsServer } from "../../src/pccs/server.js";
import { initPlatform } from "../../src/sim/platform/init.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { SAMPLE_MRENCLAVE, SAMPLE_MRSIGNER } from "../../examples/attestation/enclave.js";
import { metricsText, startHelper, tempDir, type HelperProcess } from "../quotehelper/support.js";
import { runApp } from "./app-support.js";

let tmp: ReturnType<typeof tempDir>;
let platform: SimPlatform;
let pccs: PccsServer;
let helper: HelperProcess;

const SUCCESS = new RegExp(`^attestation succeeded: MRENCLAVE ${SAMPLE_MRENCLAVE.toString("hex")}, MRSIGNER ${SAMPLE_MRSIGNER.toString("hex")}, TCB status UpToDate$`, "m");

/** The environment the Job gives the app on the simulated platform `p`, served by `pccsUrl`. */
const envFor = (p: SimPlatform, pccsUrl: string) => ({ CONFCOM_SIM_STATE: p.dir, PCCS_URL: pccsUrl, SGX_ROOT_CA: path.join(p.dir, "root-ca.pem") });

async function quotesServed(): Promise<number> {
  const m = /confcom_quotehelper_requests_total\{type="getQuoteEx",result="SUCCESS"\} (\d+)/.exec(await metricsText(helper.metricsPort));
  return Number(m?.[1] ?? 0);
}

before(async () => {
  tmp = tempDir("confcom-app-");
  platform = await initPlatform(path.join(tmp.dir, "state"));
  pccs = await startPccs({ stateDir: platform.dir, host: "127.0.0.1", port: 0, log: silentLogger() });
  helper = await startHelper(platform.dir, path.join(tmp.dir, "aesmd/aesm.socket"), ["--workers", "1"]);
});
after(async () => {
  await helper.stop();
  await pccs.close();
  tmp.cleanup();
});

test("in proc (simulated): attestation succeeds with the docs' final log line", async () => {
  const r = await runApp([], { ...envFor(platform, pccs.url), SGX_EPC_MIB: "10" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /quoting in-proc-simulated/);
  assert.match(r.stdout, /EPC for this container: 10 MiB/);
  assert.match(r.stdout.trimEnd().split("\n").at(-1)!, SUCCESS);
});

test("out of proc (SGX_AESM_ADDR=1): the quote comes from the quote helper's socket", async () => {
  const before = await quotesServed();
  const r = await runApp(["--aesm-socket", helper.socket, "--json"], { ...envFor(platform, pccs.url), SGX_AESM_ADDR: "1" });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { ok: boolean; mode: string; tcbStatus: string; line: string; quoteBytes: number };
  assert.equal(doc.ok, true);
  assert.equal(doc.mode, "out-of-proc");
  assert.equal(doc.tcbStatus, "UpToDate");
  assert.match(doc.line, SUCCESS);
  assert.equal(await quotesServed(), before + 1, "the helper served exactly this quote");
});

test("a collateral file works instead of a PCCS", async () => {
  const file = path.join(tmp.dir, "collateral.json");
  writeFileSync(file, JSON.stringify(pccs.collateral()));
  const r = await runApp(["--collateral", file], { CONFCOM_SIM_STATE: platform.dir, SGX_ROOT_CA: path.join(platform.dir, "root-ca.pem") });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, SUCCESS);
});

test("an unexpected MRENCLAVE fails with a clear message", async () => {
  const other = "ab".repeat(32);
  const r = await runApp([], { ...envFor(platform, pccs.url), EXPECTED_MRENCLAVE: other });
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`^attestation failed: MRENCLAVE ${SAMPLE_MRENCLAVE.toString("hex")} is not the expected ${other}$`, "m"));
  assert.doesNotMatch(r.stdout, /attestation succeeded/);
});

test("the wrong root CA fails the chain", async () => {
  const r = await runApp([], { ...envFor(platform, pccs.url), SGX_ROOT_CA: path.join(platform.dir, "does-not-exist.pem") });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /attestation failed: cannot read the root CA .*does-not-exist\.pem/);
  const intel = await runApp([], { CONFCOM_SIM_STATE: platform.dir, PCCS_URL: pccs.url });
  assert.equal(intel.code, 1, "the default trust anchor is Intel's real root, which did not sign the simulated PKI");
  assert.match(intel.stderr, /attestation failed: quote verification failed/);
});

for (const status of ["Revoked", "OutOfDate"] as const) {
  test(`a PCCS serving a ${status} TCB fails the attestation`, async (t) => {
    const p = await initPlatform(path.join(tmp.dir, `state-${status}`), { collateral: { tcbStatus: status } });
    const s = await startPccs({ stateDir: p.dir, host: "127.0.0.1", port: 0, log: silentLogger() });
    t.after(() => s.close());
    const r = await runApp([], envFor(p, s.url));
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^attestation failed: TCB status ${status} .*is not accepted \\(accepted: UpToDate\\)$`, "m"));
    const accepted = await runApp(["--accept-status", `UpToDate,${status}`], envFor(p, s.url));
    assert.equal(accepted.code, 0, "accepted when the relying party's policy allows it");
    assert.match(accepted.stdout, new RegExp(`TCB status ${status}$`, "m"));
  });
}

test("quote helper down: out of proc fails with SERVICE_UNAVAILABLE, no hang", async () => {
  const r = await runApp(["--aesm-socket", path.join(tmp.dir, "nobody/aesm.socket")], { ...envFor(platform, pccs.url), SGX_AESM_ADDR: "1" });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^attestation failed: cannot get a quote \(out-of-proc, AESM socket .*nobody\/aesm\.socket\): .*SERVICE_UNAVAILABLE/m);
});

test("bad input: missing collateral source, bad hex, no simulated platform", async () => {
  const none = await runApp([], { CONFCOM_SIM_STATE: platform.dir });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /needs collateral: set PCCS_URL/);
  const hex = await runApp(["--expected-mrenclave", "xyz"], envFor(platform, pccs.url));
  assert.equal(hex.code, 2);
  assert.match(hex.stderr, /--expected-mrenclave must be 32 bytes of hex/);
  const noState = await runApp([], { PCCS_URL: pccs.url });
  assert.equal(noState.code, 1);
  assert.match(noState.stderr, /simulates its enclave .* set CONFCOM_SIM_STATE/);
});
