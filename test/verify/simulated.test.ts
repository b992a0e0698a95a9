// Quotes from the simulated QE3 with the simulated PKI and collateral: each platform condition gives
// its documented status or failure.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { QuoteVerifier, VerificationError, verifyQuote, EXIT_CODES, TCB_STATUSES, type VerificationStatus } from "../../src/verify/index.js";
import { defaultAdvisoryIds, type TcbPreset } from "../../src/sim/collateral/config.js";
import { revokePck, reissueCrls } from "../../src/sim/platform/reissue.js";
import { simEnclaveIdentity } from "../../src/sim/enclave/identity.js";
import { issueCrl } from "../../src/sim/pki/issue.js";
import { ECDSA_SHA256, randomEcPrivateKey, toWebKeyPair } from "../../src/sim/pki/keys.js";
import { CN, DEFAULT_CN_PREFIX, intelStyleName } from "../../src/sim/pki/names.js";
import { x509 } from "../../src/common/x509.js";
import { loadPlatformState } from "../../src/sim/platform/load.js";
import { cliEntry } from "../support/paths.js";
import { SIM_NOW, simRig, type SimRig } from "./sim.js";

let rig: SimRig;
before(async () => {
  rig = await simRig("main");
});

const DAY = 86_400_000;
const failure = (step: string, kind: VerificationError["failure"]) => (e: unknown) => {
  assert.ok(e instanceof VerificationError, String(e));
  assert.equal(e.step, step, e.message);
  assert.equal(e.failure, kind);
  return true;
};

test("a simulated quote verifies UpToDate under the simulated root, with its enclave's identity", async () => {
  const reportData = Buffer.alloc(64, 0x33);
  const r = await verifyQuote(rig.quote({ reportData }), await rig.collateral(), { trustedRootPem: rig.rootPem, now: SIM_NOW });
  const app = simEnclaveIdentity();
  assert.equal(r.status, "UpToDate");
  assert.deepEqual(r.advisoryIds, []);
  assert.equal(r.fmspc, rig.platform.fmspc.toString("hex").toUpperCase());
  assert.equal(r.enclave.mrEnclave, app.mrEnclave.toString("hex"));
  assert.equal(r.enclave.mrSigner, app.mrSigner.toString("hex"));
  assert.equal(r.enclave.debug, false);
  assert.equal(r.reportData, reportData.toString("hex"));
});

test("a simulated quote fails under Intel's root", async () => {
  await assert.rejects(verifyQuote(rig.quote(), await rig.collateral(), { now: SIM_NOW }), failure("pck-chain", "invalid-signature-or-collateral"));
});

test("each TCB status preset gives that status and its advisories", async () => {
  const v = new QuoteVerifier({ trustedRootPem: rig.rootPem });
  const quote = rig.quote();
  for (const preset of [...TCB_STATUSES, "NotSupported"] as TcbPreset[]) {
    const r = await v.verify(quote, { collateral: await rig.collateral({ tcbStatus: preset }), now: SIM_NOW });
    const expected: VerificationStatus = preset === "NotSupported" ? "TcbNotSupported" : preset;
    assert.equal(r.status, expected, preset);
    assert.deepEqual(r.advisoryIds, defaultAdvisoryIds(preset), preset);
  }
});

test("the QE's status merges into the platform's", async () => {
  const v = new QuoteVerifier({ trustedRootPem: rig.rootPem });
  const quote = rig.quote();
  const cases: [TcbPreset, "UpToDate" | "OutOfDate" | "Revoked", VerificationStatus][] = [
    ["UpToDate", "OutOfDate", "OutOfDate"],
    ["SWHardeningNeeded", "OutOfDate", "OutOfDate"],
    ["ConfigurationNeeded", "OutOfDate", "OutOfDateConfigurationNeeded"],
    ["ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded"],
    ["UpToDate", "Revoked", "Revoked"],
  ];
  for (const [tcbStatus, qeStatus, expected] of cases) {
    const r = await v.verify(quote, { collateral: await rig.collateral({ tcbStatus, qeStatus, qeAdvisoryIds: ["INTEL-SA-99999"] }), now: SIM_NOW });
    assert.equal(r.status, expected, `${tcbStatus} + QE ${qeStatus}`);
    assert.equal(r.qeStatus, qeStatus);
    assert.deepEqual(r.advisoryIds, [...defaultAdvisoryIds(tcbStatus), "INTEL-SA-99999"]);
  }
});

test("a QE below every QE Identity level makes the TCB not supported", async () => {
  const c = await rig.resigned({ qeIdentity: (s) => s.replace(/"isvsvn":(\d+)/g, (_, n: string) => `"isvsvn":${Number(n) + 100}`) });
  const r = await verifyQuote(rig.quote(), c, { trustedRootPem: rig.rootPem, now: SIM_NOW });
  assert.equal(r.status, "TcbNotSupported");
  assert.equal(r.platformStatus, "UpToDate");
  assert.equal(r.qeStatus, undefined);
});

test("expired and not-yet-valid collateral are rejected as expired", async () => {
  const c = await rig.collateral();
  const v = new QuoteVerifier({ trustedRootPem: rig.rootPem });
  await assert.rejects(v.verify(rig.quote(), { collateral: c, now: new Date(SIM_NOW.getTime() + 31 * DAY) }), failure("tcb-info.validity", "expired"));
  await assert.rejects(v.verify(rig.quote(), { collateral: c, now: new Date(SIM_NOW.getTime() - DAY) }), { failure: "expired" });
});

test("collateral for another FMSPC is rejected", async () => {
  const c = await rig.resigned({ tcbInfo: (s) => s.replace(/"fmspc":"[0-9A-Fa-f]{12}"/, '"fmspc":"00A067110000"') });
  await assert.rejects(verifyQuote(rig.quote(), c, { trustedRootPem: rig.rootPem, now: SIM_NOW }), failure("tcb-info.fmspc", "invalid-signature-or-collateral"));
});

test("a TCB Info for another PCE-ID (same FMSPC, properly signed) is rejected at the PCE-ID match", async () => {
  const pceId = rig.platform.pceId.toString("hex").toUpperCase();
  const other = pceId === "0100" ? "0200" : "0100";
  const c = await rig.resigned({ tcbInfo: (s) => s.replace(`"pceId":"${pceId}"`, `"pceId":"${other}"`) });
  assert.ok(c.tcb_info.includes(`"pceId":"${other}"`), "the TCB Info's PCE-ID was not replaced");
  await assert.rejects(verifyQuote(rig.quote(), c, { trustedRootPem: rig.rootPem, now: SIM_NOW }), (e: unknown) => {
    failure("tcb-info.pce-id", "invalid-signature-or-collateral")(e);
    assert.match((e as Error).message, new RegExp(`PCK PCE-ID ${pceId} is not the TCB Info's ${other}`, "i"));
    return true;
  });
});

test("a PCK CRL from the other PCK CA (Platform CA, chained to the same root, properly signed) is rejected at the CRL issuer match", async () => {
  const s = await loadPlatformState(rig.dir);
  const otherKey = randomEcPrivateKey();
  const [rootKeys, otherKeys] = await Promise.all([toWebKeyPair(s.keys.root), toWebKeyPair(otherKey)]);
  // Named as the simulated PKI names CAs, so only the CA (Platform instead of Processor) differs.
  const otherName = new x509.Name(intelStyleName(DEFAULT_CN_PREFIX + CN.pckCa("platform")));
  assert.notEqual(otherName.toString(), s.certs.pckCa.subject);
  const notBefore = new Date(SIM_NOW.getTime() - DAY);
  const otherCa = await x509.X509CertificateGenerator.create({
    serialNumber: "0badca",
    subject: otherName,
    issuer: s.certs.root.subjectName,
    notBefore,
    notAfter: new Date(SIM_NOW.getTime() + 365 * DAY),
    signingAlgorithm: ECDSA_SHA256,
    publicKey: otherKeys.publicKey,
    signingKey: rootKeys.privateKey,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey, false),
      s.certs.pckCa.extensions.find((e) => e.type === "2.5.29.31")!, // the root CA CRL's distribution point
      await x509.SubjectKeyIdentifierExtension.create(otherKeys.publicKey, false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.BasicConstraintsExtension(true, 0, true),
    ],
  });
  const crl = await issueCrl(otherCa, otherKey, { thisUpdate: notBefore, nextUpdate: new Date(SIM_NOW.getTime() + 30 * DAY), crlNumber: 1, revokedSerials: [] });
  const c = await rig.collateral();
  c.pck_crl_issuer_chain = otherCa.toString("pem") + "\n" + s.certs.root.toString("pem") + "\n";
  c.pck_crl = Buffer.from(crl.rawData).toString("hex");
  await assert.rejects(verifyQuote(rig.quote(), c, { trustedRootPem: rig.rootPem, now: SIM_NOW }), (e: unknown) => {
    failure("pck-crl.issuer", "invalid-signature-or-collateral")(e);
    assert.match((e as Error).message, /PCK CRL issuer ".*Platform CA.*" is not the PCK certificate's issuer ".*Processor CA.*"/);
    return true;
  });
});

test("a QE Identity with another MRSIGNER (or product id) rejects the QE", async () => {
  const other = "AB".repeat(32);
  const c = await rig.resigned({ qeIdentity: (s) => s.replace(/"mrsigner":"[0-9A-Fa-f]{64}"/, `"mrsigner":"${other}"`) });
  await assert.rejects(verifyQuote(rig.quote(), c, { trustedRootPem: rig.rootPem, now: SIM_NOW }), failure("quote.qe-identity", "invalid-signature-or-collateral"));
  const p = await rig.resigned({ qeIdentity: (s) => s.replace(/"isvprodid":\d+/, '"isvprodid":2') });
  await assert.rejects(verifyQuote(rig.quote(), p, { trustedRootPem: rig.rootPem, now: SIM_NOW }), failure("quote.qe-identity", "invalid-signature-or-collateral"));
});

test("a debug ISV enclave is reported, and rejected unless debug is allowed", async () => {
  const c = await rig.collateral();
  const quote = rig.quote({ debug: true });
  await assert.rejects(verifyQuote(quote, c, { trustedRootPem: rig.rootPem, now: SIM_NOW }), (e: unknown) => {
    assert.ok(failure("isv-enclave.debug", "policy")(e));
    assert.equal(((e as VerificationError).result as { enclave: { debug: boolean } }).enclave.debug, true);
    return true;
  });
  const r = await verifyQuote(quote, c, { trustedRootPem: rig.rootPem, now: SIM_NOW, allowDebug: true });
  assert.equal(r.enclave.debug, true);
  assert.equal(r.status, "UpToDate");
});

test("many quotes of one platform verify through the caches, each checked on its own bytes", async () => {
  const v = new QuoteVerifier({ trustedRootPem: rig.rootPem });
  const c = await rig.collateral();
  for (let i = 0; i < 20; i++) {
    const reportData = Buffer.alloc(64, i);
    const q = rig.quote({ reportData });
    assert.equal((await v.verify(q, { collateral: c, now: SIM_NOW })).reportData, reportData.toString("hex"));
    q[48 + 320] ^= 1; // report data is signed
    await assert.rejects(v.verify(q, { collateral: c, now: SIM_NOW }), failure("quote.isv-signature", "invalid-signature-or-collateral"));
  }
});

test("a revoked PCK certificate gives Revoked (API and CLI exit 15); an expired PCK CRL is expired", async () => {
  const r2 = await simRig("revoked");
  await revokePck(r2.dir, { now: SIM_NOW });
  const c = await r2.collateral();
  const r = await verifyQuote(r2.quote(), c, { trustedRootPem: r2.rootPem, now: SIM_NOW });
  assert.equal(r.status, "Revoked");
  assert.match(r.revocation ?? "", /revoked by PCK CRL/);

  const files = { quote: path.join(r2.dir, "..", "q.bin"), coll: path.join(r2.dir, "..", "c.json"), root: path.join(r2.dir, "..", "root.pem") };
  writeFileSync(files.quote, r2.quote());
  writeFileSync(files.coll, JSON.stringify(c));
  writeFileSync(files.root, r2.rootPem);
  const res = spawnSync(process.execPath, [cliEntry, "quote", "verify", files.quote, "--collateral", files.coll, "--root", files.root, "--now", SIM_NOW.toISOString()], {
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(res.status, EXIT_CODES.Revoked, res.stderr);
  assert.match(res.stdout, /^status: Revoked$/m);

  await reissueCrls(r2.dir, { now: SIM_NOW, pck: { thisUpdate: new Date(SIM_NOW.getTime() - 40 * DAY), nextUpdate: new Date(SIM_NOW.getTime() - DAY) } });
  await assert.rejects(verifyQuote(r2.quote(), await r2.collateral(), { trustedRootPem: r2.rootPem, now: SIM_NOW }), failure("collateral.pck-crl", "expired"));
});

test("a PCK CA revoked by the root CA CRL gives Revoked", async () => {
  const state = await loadPlatformState(rig.dir);
  const crl = await issueCrl(state.certs.root, state.keys.root, {
    thisUpdate: new Date(SIM_NOW.getTime() - DAY),
    nextUpdate: new Date(SIM_NOW.getTime() + 300 * DAY),
    crlNumber: 99,
    revokedSerials: [state.certs.pckCa.serialNumber],
  });
  const c = { ...(await rig.collateral()), root_ca_crl: Buffer.from(crl.rawData).toString("hex") };
  const r = await verifyQuote(rig.quote(), c, { trustedRootPem: rig.rootPem, now: SIM_NOW });
  assert.equal(r.status, "Revoked");
  assert.match(r.revocation ?? "", /PCK (Processor|Platform) CA.*revoked by root CA CRL/);
});
