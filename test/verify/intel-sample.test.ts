// The real Intel quote verifies with exactly the facts an independent verifier reports, and only
// while its collateral is valid; via the API and via the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHash, X509Certificate } from "node:crypto";
import { QuoteVerifier, VerificationError, verifyQuote, EXIT_CODES, INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from "../../src/verify/index.js";
import { cliEntry } from "../support/paths.js";
import { collateralPath, EXPIRED_AT, needsIntelSample, quotePath, sampleCollateral, sampleQuote, VALID_AT } from "./intel-sample.js";

const README_FACTS = {
  status: "ConfigurationAndSWHardeningNeeded",
  advisoryIds: ["INTEL-SA-00289", "INTEL-SA-00615"],
  fmspc: "00A067110000",
  mrEnclave: "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb",
  mrSigner: "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6",
  reportData: Buffer.concat([Buffer.from("Hello, world!"), Buffer.alloc(64 - 13)]).toString("hex"),
};

const cli = (...args: string[]) => spawnSync(process.execPath, [cliEntry, "quote", "verify", ...args], { encoding: "utf8", timeout: 30_000 });

test("the Intel sample verifies at 2025-07-01 with the README's facts", needsIntelSample, async () => {
  const r = await verifyQuote(sampleQuote(), sampleCollateral(), { now: VALID_AT });
  assert.equal(r.status, README_FACTS.status);
  assert.deepEqual(r.advisoryIds, README_FACTS.advisoryIds);
  assert.equal(r.platformStatus, "ConfigurationAndSWHardeningNeeded");
  assert.equal(r.qeStatus, "UpToDate");
  assert.equal(r.fmspc, README_FACTS.fmspc);
  assert.equal(r.pceId, "0000");
  assert.equal(r.caType, "processor");
  assert.equal(r.enclave.mrEnclave, README_FACTS.mrEnclave);
  assert.equal(r.enclave.mrSigner, README_FACTS.mrSigner);
  assert.equal(r.enclave.isvProdId, 0);
  assert.equal(r.enclave.isvSvn, 0);
  assert.equal(r.enclave.debug, false);
  assert.equal(r.reportData, README_FACTS.reportData);
  assert.equal(r.revocation, undefined);
  // The earliest expiry is the QE Identity's nextUpdate (2025-07-19T10:01:18Z).
  assert.equal(r.collateralExpiresAt, "2025-07-19T10:01:18.000Z");
});

test("the Intel sample fails at 2025-08-01: its TCB Info has expired", needsIntelSample, async () => {
  await assert.rejects(verifyQuote(sampleQuote(), sampleCollateral(), { now: EXPIRED_AT }), (e: unknown) => {
    assert.ok(e instanceof VerificationError);
    assert.equal(e.failure, "expired");
    assert.equal(e.step, "tcb-info.validity");
    return true;
  });
});

test("a cached verifier still checks validity at each call's time", needsIntelSample, async () => {
  const v = new QuoteVerifier();
  const c = sampleCollateral();
  assert.equal((await v.verify(sampleQuote(), { collateral: c, now: VALID_AT })).status, README_FACTS.status);
  await assert.rejects(v.verify(sampleQuote(), { collateral: c, now: EXPIRED_AT }), { failure: "expired" });
  // Before the PCK leaf's notBefore (2023-09-20): not yet valid.
  await assert.rejects(v.verify(sampleQuote(), { collateral: c, now: new Date("2023-01-01T00:00:00Z") }), { failure: "expired" });
  assert.equal((await v.verify(sampleQuote(), { collateral: c, now: VALID_AT })).status, README_FACTS.status);
});

test("collateral mutated after a successful verification is verified again, not served from the cache", needsIntelSample, async () => {
  const v = new QuoteVerifier();
  const c = sampleCollateral();
  await v.verify(sampleQuote(), { collateral: c, now: VALID_AT });
  c.qe_identity = c.qe_identity.replace('"isvsvn":8', '"isvsvn":11');
  await assert.rejects(v.verify(sampleQuote(), { collateral: c, now: VALID_AT }), { step: "qe-identity.signature" });
  c.qe_identity = sampleCollateral().qe_identity;
  assert.equal((await v.verify(sampleQuote(), { collateral: c, now: VALID_AT })).status, README_FACTS.status);
});

test("the embedded root is the real Intel SGX Root CA, the last certificate of every sample chain", needsIntelSample, () => {
  const der = new X509Certificate(INTEL_SGX_ROOT_CA_PEM).raw;
  assert.equal(createHash("sha256").update(der).digest("hex"), INTEL_SGX_ROOT_CA_SHA256);
  const c = sampleCollateral();
  for (const chain of [c.tcb_info_issuer_chain, c.qe_identity_issuer_chain, c.pck_crl_issuer_chain]) {
    const pems = chain.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    assert.ok(new X509Certificate(pems[pems.length - 1]).raw.equals(der));
  }
});

test("a trust anchor that is not a self-signed SGX root is refused", needsIntelSample, async () => {
  const tcbSigning = sampleCollateral().tcb_info_issuer_chain.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/)![0];
  await assert.rejects(verifyQuote(sampleQuote(), sampleCollateral(), { now: VALID_AT, trustedRootPem: tcbSigning }), { step: "trusted-root" });
});

test("CLI: exit 12 with the facts at 2025-07-01, human and JSON", needsIntelSample, () => {
  const human = cli(quotePath(), "--collateral", collateralPath(), "--now", VALID_AT.toISOString());
  assert.equal(human.status, EXIT_CODES.ConfigurationAndSWHardeningNeeded, human.stderr);
  assert.match(human.stdout, /^status: ConfigurationAndSWHardeningNeeded$/m);
  assert.match(human.stdout, /^advisories: INTEL-SA-00289, INTEL-SA-00615$/m);
  assert.match(human.stdout, new RegExp(`^MRENCLAVE: ${README_FACTS.mrEnclave}$`, "m"));
  assert.match(human.stdout, new RegExp(`^MRSIGNER: ${README_FACTS.mrSigner}$`, "m"));
  assert.match(human.stdout, /^ISVPRODID: 0 {2}ISVSVN: 0$/m);
  assert.match(human.stdout, /^report data \(text\): "Hello, world!"$/m);

  const json = cli(quotePath(), "--collateral", collateralPath(), "--now", VALID_AT.toISOString(), "--json");
  assert.equal(json.status, 12);
  const r = JSON.parse(json.stdout);
  assert.equal(r.ok, true);
  assert.equal(r.status, README_FACTS.status);
  assert.deepEqual(r.advisoryIds, README_FACTS.advisoryIds);
  assert.equal(r.enclave.mrEnclave, README_FACTS.mrEnclave);
  assert.equal(r.reportData, README_FACTS.reportData);
});

test("CLI: exit 22 (expired) at 2025-08-01, naming the TCB Info", needsIntelSample, () => {
  const res = cli(quotePath(), "--collateral", collateralPath(), "--now", EXPIRED_AT.toISOString(), "--json");
  assert.equal(res.status, EXIT_CODES.expired);
  const r = JSON.parse(res.stdout);
  assert.deepEqual([r.ok, r.failure, r.step], [false, "expired", "tcb-info.validity"]);
  assert.match(res.stderr, /TCB Info expired/);
});

test("CLI: usage, invalid quote and collateral failures have their exit codes", needsIntelSample, () => {
  const dir = mkdtempSync(path.join(tmpdir(), "verify-cli-"));
  assert.equal(cli(quotePath()).status, EXIT_CODES.usage);
  assert.equal(cli(quotePath(), "--collateral", collateralPath(), "--bogus").status, EXIT_CODES.usage);
  const truncated = path.join(dir, "truncated.bin");
  writeFileSync(truncated, sampleQuote().subarray(0, 1000));
  assert.equal(cli(truncated, "--collateral", collateralPath(), "--now", VALID_AT.toISOString()).status, EXIT_CODES["invalid-quote"]);

  const c = sampleCollateral();
  c.tcb_info = c.tcb_info.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18');
  const forged = path.join(dir, "forged.json");
  writeFileSync(forged, JSON.stringify(c));
  const res = cli(quotePath(), "--collateral", forged, "--now", VALID_AT.toISOString(), "--json");
  assert.equal(res.status, EXIT_CODES["invalid-signature-or-collateral"]);
  assert.equal(JSON.parse(res.stdout).step, "tcb-info.signature");
});

test("CLI --help documents every exit code", () => {
  const res = cli("--help");
  assert.equal(res.status, 0);
  for (const [name, code] of Object.entries(EXIT_CODES)) {
    assert.match(res.stdout, new RegExp(`^\\s*${code}\\s+\\S`, "m"), `exit code ${code} (${name}) is documented`);
  }
});
