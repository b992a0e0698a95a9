import assert from "node:assert/strict";
import { createHash, createPublicKey, randomBytes, verify, X509Certificate } from "node:crypto";
import { before, describe, it } from "node:test";
import { AesmError } from "../../src/aesm/error-codes.js";
import { QuotingError } from "../../src/quoting/backend.js";
import {
  DEFAULT_ECDSA_ATT_KEY_ID,
  INTEL_QE3_MRSIGNER,
  INTEL_QE_VENDOR_ID,
  decodeQeReportInfo,
  decodeReport,
  decodeTargetInfo,
  encodeQeReportInfo,
  emptyReportBody,
  encodeReport,
  encodeTargetInfo,
  isvSignedBytes,
  parseQuote,
  pckChainFromCertData,
  qeReportBytes,
} from "../../src/sgx/index.js";
import { ereportBytes, verifyReportMac } from "../../src/sim/enclave/ereport.js";
import { simEnclaveIdentity, targetInfoOf } from "../../src/sim/enclave/identity.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { SIM_QE3_MRENCLAVE } from "../../src/sim/qe3/identity.js";
import { QE3_AUTH_DATA, SimulatedQuotingEnclave, rawP256PublicKey } from "../../src/sim/qe3/quoting-enclave.js";
import { testPlatform } from "./platform.js";

const p1363 = { dsaEncoding: "ieee-p1363" } as const;
const sha256 = (...b: Buffer[]) => createHash("sha256").update(Buffer.concat(b)).digest();
const KEY = DEFAULT_ECDSA_ATT_KEY_ID;

async function rejectsWith(p: Promise<unknown>, code: AesmError) {
  await assert.rejects(p, (e: unknown) => e instanceof QuotingError && e.code === code);
}

describe("simulated QE3", () => {
  let platform: SimPlatform;
  let qe: SimulatedQuotingEnclave;
  const app = simEnclaveIdentity({ isvProdId: 2, isvSvn: 5 });
  const appReport = (data = Buffer.from("report data")) => ereportBytes(platform, app, qe.identity, data);
  before(async () => {
    platform = await testPlatform();
    qe = new SimulatedQuotingEnclave(platform);
  });

  it("supports the default ECDSA key id; initQuote gives the QE target info and ECDSA_ID", async () => {
    assert.deepEqual(await qe.supportedAttKeyIds(), [KEY]);
    const { targetInfo, pubKeyId } = await qe.initQuote(KEY);
    const ti = decodeTargetInfo(targetInfo);
    assert.deepEqual(ti.mrEnclave, SIM_QE3_MRENCLAVE);
    assert.deepEqual(ti.attributes, { flags: 0x15n, xfrm: 0xe7n });
    assert.deepEqual(pubKeyId, sha256(rawP256PublicKey(platform.attestationKey), QE3_AUTH_DATA));
    assert.equal(await qe.quoteSize(KEY), 1052 + Buffer.byteLength(platform.pckChainPem) + 1);
  });

  it("produces a v3 quote that parses, with both signatures and the key binding verifying", async () => {
    const report = appReport();
    const { quote, qeReportInfo } = await qe.getQuote(report, KEY);
    assert.equal(qeReportInfo, undefined);
    assert.equal(quote.length, await qe.quoteSize(KEY));
    const q = parseQuote(quote);
    assert.deepEqual(
      [q.header.version, q.header.attKeyType, q.header.teeType, q.header.qeSvn, q.header.pceSvn],
      [3, 2, 0, platform.qe.isvSvn, platform.tcb.pceSvn],
    );
    assert.deepEqual(q.header.qeVendorId, INTEL_QE_VENDOR_ID);
    assert.deepEqual(q.header.userData, Buffer.concat([platform.qe.qeId, Buffer.alloc(4)]));
    assert.deepEqual(q.isvReport, decodeReport(report).body);

    const s = q.signatureData;
    assert.deepEqual(s.attestationKey, rawP256PublicKey(platform.attestationKey));
    assert.ok(verify("sha256", isvSignedBytes(quote), { key: createPublicKey(platform.attestationKey), ...p1363 }, s.isvSignature));

    const chain = pckChainFromCertData(s.certification);
    assert.equal(s.certification.type, 5);
    assert.equal(chain.join(""), platform.pckChainPem.trimEnd() + "\n");
    const pckLeaf = new X509Certificate(chain[0]);
    assert.ok(verify("sha256", qeReportBytes(quote), { key: pckLeaf.publicKey, ...p1363 }, s.qeReportSignature));
    assert.deepEqual(s.qeReport.reportData, Buffer.concat([sha256(s.attestationKey, s.qeAuthData), Buffer.alloc(32)]));
    assert.deepEqual(s.qeAuthData, Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
    assert.deepEqual([s.qeReport.mrSigner, s.qeReport.isvProdId, s.qeReport.isvSvn], [INTEL_QE3_MRSIGNER, 1, platform.qe.isvSvn]);
    assert.deepEqual(s.qeReport.attributes, { flags: 0x15n, xfrm: 0xe7n });
    assert.deepEqual(s.qeReport.cpuSvn, platform.cpuSvn);

    // A second quote differs only in the (randomized) ISV signature.
    const again = (await qe.getQuote(report, KEY)).quote;
    assert.deepEqual(again.subarray(0, 436), quote.subarray(0, 436));
    assert.deepEqual(again.subarray(500), quote.subarray(500));
    // A quote for other report data signs other bytes.
    const other = parseQuote((await qe.getQuote(appReport(Buffer.from("other")), KEY)).quote);
    assert.equal(other.isvReport.reportData.subarray(0, 5).toString(), "other");
  });

  it("rejects forged reports with INVALID_REPORT (AESM 47) and no quote", async () => {
    const good = appReport();
    const flippedMac = Buffer.from(good);
    flippedMac[431] ^= 1;
    const flippedBody = Buffer.from(good);
    flippedBody[320] ^= 1;
    const forIntel = ereportBytes(platform, app, targetInfoOf({ ...qe.identity, mrEnclave: Buffer.alloc(32, 1) }), Buffer.alloc(0));
    const otherPlatform = ereportBytes(await testPlatform("another platform"), app, qe.identity, Buffer.alloc(0));
    const handMade = encodeReport({ body: emptyReportBody(), keyId: randomBytes(32), mac: randomBytes(16) });
    for (const r of [flippedMac, flippedBody, forIntel, otherPlatform, handMade]) await rejectsWith(qe.getQuote(r, KEY), AesmError.INVALID_REPORT);
    await rejectsWith(qe.getQuote(good.subarray(0, 431), KEY), AesmError.PARAMETER_ERROR);
    await rejectsWith(qe.getQuote(good, KEY, Buffer.alloc(959)), AesmError.PARAMETER_ERROR);
  });

  it("matches key ids on the 158-byte base only; anything else is UNSUPPORTED_ATT_KEY_ID (38)", async () => {
    const withSpid = Buffer.from(KEY);
    withSpid.fill(0xaa, 158, 174);
    assert.equal((await qe.initQuote(withSpid)).pubKeyId.length, 32);
    const p384 = Buffer.from(KEY);
    p384.writeUInt32LE(3, 154);
    const otherSigner = Buffer.from(KEY);
    otherSigner[6] ^= 0xff;
    for (const k of [p384, otherSigner, KEY.subarray(0, 255), Buffer.alloc(256)]) {
      await rejectsWith(qe.initQuote(k), AesmError.UNSUPPORTED_ATT_KEY_ID);
      await rejectsWith(qe.quoteSize(k), AesmError.UNSUPPORTED_ATT_KEY_ID);
      await rejectsWith(qe.getQuote(appReport(), k), AesmError.UNSUPPORTED_ATT_KEY_ID);
    }
  });

  it("fills qe_report_info: a QE report for the app binding nonce and quote", async () => {
    const nonce = randomBytes(16);
    const info = encodeQeReportInfo({
      nonce,
      appEnclaveTargetInfo: targetInfoOf(app),
      qeReport: decodeReport(Buffer.alloc(432)),
    });
    const { quote, qeReportInfo } = await qe.getQuote(appReport(), KEY, info);
    assert.ok(qeReportInfo);
    const out = decodeQeReportInfo(qeReportInfo);
    assert.deepEqual(out.nonce, nonce);
    assert.deepEqual(qeReportInfo.subarray(0, 528), info.subarray(0, 528));
    assert.deepEqual(out.qeReport.body.reportData, Buffer.concat([sha256(nonce, quote), Buffer.alloc(32)]));
    assert.deepEqual([out.qeReport.body.mrEnclave, out.qeReport.body.mrSigner], [SIM_QE3_MRENCLAVE, INTEL_QE3_MRSIGNER]);
    assert.ok(verifyReportMac(platform, out.qeReport, app), "the app can verify the QE's report");
    assert.equal(verifyReportMac(platform, out.qeReport, qe.identity), false);
    assert.deepEqual(encodeTargetInfo(out.appEnclaveTargetInfo), encodeTargetInfo(targetInfoOf(app)));
  });
});
