// The whole out-of-proc flow in simulation, through the CLI: the QE's target info from the service,
// an app report targeting it, `confcom quote get` over the socket, and the quote verified.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPublicKey, verify } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseQuote, quoteSignedRegions } from "../../src/sgx/quote.js";
import { loadSimPlatform } from "../../src/sim/platform/load.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { appReport, runCli, startHelper, tempDir, type HelperProcess } from "./support.js";

let tmp: ReturnType<typeof tempDir>;
let platform: SimPlatform;
let helper: HelperProcess;

before(async () => {
  tmp = tempDir("qh-flow-");
  const state = path.join(tmp.dir, "state");
  const init = await runCli(["sim", "init", "--state", state, "--log-level", "warn"]);
  assert.equal(init.code, 0, init.stderr);
  platform = await loadSimPlatform(state);
  helper = await startHelper(platform.dir, path.join(tmp.dir, "aesm.socket"), ["--workers", "1", "--worker-idle-ms", "600000"]);
});
after(async () => {
  assert.equal(await helper.stop(), 0);
  tmp.cleanup();
});

const p256 = (xy: Buffer) => createPublicKey({ key: { kty: "EC", crv: "P-256", x: xy.subarray(0, 32).toString("base64url"), y: xy.subarray(32).toString("base64url") }, format: "jwk" });

test("aesm ping reports the key count", async () => {
  const r = await runCli(["aesm", "ping", "--socket", helper.socket]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /1 attestation key id\(s\) supported/);
});

test("sim init -> QE target info -> sim report -> quote get -> the quote parses, its signatures verify, quote verify accepts it", async () => {
  const tiFile = path.join(tmp.dir, "qe.ti");
  let r = await runCli(["aesm", "target-info", "--socket", helper.socket, "--out", tiFile]);
  assert.equal(r.code, 0, r.stderr);
  const reportData = Buffer.alloc(64);
  reportData.write("hello from the app enclave");
  const reportFile = path.join(tmp.dir, "app.report");
  r = await runCli(["sim", "report", "--state", platform.dir, "--target-info", tiFile, "--report-data", reportData.toString("hex"), "--out", reportFile]);
  assert.equal(r.code, 0, r.stderr);
  const quoteFile = path.join(tmp.dir, "quote.bin");
  r = await runCli(["quote", "get", "--socket", helper.socket, "--report", reportFile, "--out", quoteFile]);
  assert.equal(r.code, 0, r.stderr);

  const bytes = await readFile(quoteFile);
  const quote = parseQuote(bytes);
  assert.deepEqual(quote.isvReport.reportData, reportData);
  const regions = quoteSignedRegions(bytes);
  const sig = quote.signatureData;
  assert.ok(verify("sha256", regions.isvSigned, { key: p256(sig.attestationKey), dsaEncoding: "ieee-p1363" }, sig.isvSignature), "ISV signature");
  assert.ok(verify("sha256", regions.qeReportBody, { key: createPublicKey(platform.pckKey), dsaEncoding: "ieee-p1363" }, sig.qeReportSignature), "QE report signature (PCK)");
  assert.deepEqual(sig.qeReport.reportData.subarray(0, 32), createHash("sha256").update(regions.qeReportDataPreimage).digest());

  const collateralFile = path.join(tmp.dir, "collateral.json");
  r = await runCli(["sim", "collateral", "--state", platform.dir, "--out", collateralFile]);
  assert.equal(r.code, 0, r.stderr);
  const rootFile = path.join(tmp.dir, "root.pem");
  await writeFile(rootFile, platform.rootCaPem);
  r = await runCli(["quote", "verify", quoteFile, "--collateral", collateralFile, "--root", rootFile]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /status: UpToDate/);
  assert.match(r.stdout, /report data \(text\): "hello from the app enclave"/);
});

test("/healthz and /readyz answer 200 while serving; /metrics counts requests by type and result, and the process's figures", async () => {
  for (const p of ["healthz", "readyz"]) assert.equal((await fetch(`http://127.0.0.1:${helper.metricsPort}/${p}`)).status, 200);
  const text = await (await fetch(`http://127.0.0.1:${helper.metricsPort}/metrics`)).text();
  assert.match(text, /confcom_quotehelper_requests_total\{type="getQuoteEx",result="SUCCESS"\} [1-9]/);
  assert.match(text, /confcom_quotehelper_request_duration_seconds_count\{type="initQuoteEx"\} [1-9]/);
  assert.match(text, /confcom_quotehelper_queue_depth 0/);
  assert.match(text, /confcom_quotehelper_requests_in_flight 0/);
  assert.match(text, /^confcom_quotehelper_quoting_workers [1-9]$/m, "the quotes above started a worker (kept: --worker-idle-ms 600000)");
  // the shared hand-written process metrics, read at scrape time (not prom-client's default set)
  assert.match(text, /^confcom_quotehelper_process_resident_memory_bytes [1-9]\d{6,}$/m);
  assert.match(text, /^confcom_quotehelper_process_cpu_seconds_total \d/m);
  assert.match(text, /^confcom_quotehelper_process_open_fds [1-9]/m);
  assert.doesNotMatch(text, /eventloop_lag|nodejs_gc_duration/, "no event-loop sampling or GC observer in an idle node daemon");
});

test("a forged report gets INVALID_REPORT (47), which the client reports as SGX_ERROR_MAC_MISMATCH", async () => {
  const reportFile = path.join(tmp.dir, "forged.report");
  const forged = appReport(platform, Buffer.alloc(512)); // MAC'd for another target, not the QE
  await writeFile(reportFile, forged);
  const r = await runCli(["quote", "get", "--socket", helper.socket, "--report", reportFile, "--out", path.join(tmp.dir, "never.bin")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /SGX_ERROR_MAC_MISMATCH \(aesm INVALID_REPORT = 47\)/);
});

test("no service: ping exits non-zero naming SGX_ERROR_SERVICE_UNAVAILABLE", async () => {
  const r = await runCli(["aesm", "ping", "--socket", path.join(tmp.dir, "nobody-here.socket")]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /SGX_ERROR_SERVICE_UNAVAILABLE/);
});
