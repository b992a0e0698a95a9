// Our encoder against an independent decoder: Phala's dcap-qvl (a JS port of Intel's QVL parsing) must
// read every field of quotes we encode exactly as we meant them, and agree with us on Intel's sample.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Quote } from "@phala/dcap-qvl";
import { encodeQuote, parseQuote } from "../../src/sgx/index.js";
import type { QuoteV3, ReportBody } from "../../src/sgx/types.js";
import * as arb from "./arbitraries.js";
import { needsIntelSample, sampleQuote } from "./sample.js";

const b = (u: Uint8Array) => Buffer.from(u);

function attributesBytes(r: ReportBody): Buffer {
  const a = Buffer.alloc(16);
  a.writeBigUInt64LE(r.attributes.flags, 0);
  a.writeBigUInt64LE(r.attributes.xfrm, 8);
  return a;
}

function assertSameAsPhala(q: QuoteV3, bytes: Buffer): void {
  const theirs = Quote.parse(bytes);
  assert.deepEqual(
    [theirs.header.version, theirs.header.attestationKeyType, theirs.header.qeSvn, theirs.header.pceSvn, b(theirs.header.qeVendorId), b(theirs.header.userData)],
    [q.header.version, q.header.attKeyType, q.header.qeSvn, q.header.pceSvn, q.header.qeVendorId, q.header.userData],
  );
  const r = theirs.report.asSgx();
  assert.ok(r);
  assert.deepEqual(
    [b(r.cpuSvn), r.miscSelect, b(r.attributes), b(r.mrEnclave), b(r.mrSigner), r.isvProdId, r.isvSvn, b(r.reportData)],
    [q.isvReport.cpuSvn, q.isvReport.miscSelect, attributesBytes(q.isvReport), q.isvReport.mrEnclave, q.isvReport.mrSigner, q.isvReport.isvProdId, q.isvReport.isvSvn, q.isvReport.reportData],
  );
  const a = (theirs.authData as unknown as { data: unknown }).data as { ecdsaSignature: Uint8Array; ecdsaAttestationKey: Uint8Array; qeReport: Uint8Array; qeReportSignature: Uint8Array; qeAuthData: Uint8Array; certificationData: { certType: number; body: Uint8Array } };
  const s = q.signatureData;
  assert.deepEqual(
    [b(a.ecdsaSignature), b(a.ecdsaAttestationKey), b(a.qeReport), b(a.qeReportSignature), b(a.qeAuthData), a.certificationData.certType, b(a.certificationData.body)],
    [s.isvSignature, s.attestationKey, bytes.subarray(564, 948), s.qeReportSignature, s.qeAuthData, s.certification.type, s.certification.data],
  );
  assert.equal(theirs.signedLength(), 432);
}

describe("independent parser (@phala/dcap-qvl) agrees with our codec", () => {
  it("on Intel's sample quote", needsIntelSample, () => {
    const bytes = sampleQuote();
    assertSameAsPhala(parseQuote(bytes), bytes);
  });

  it("on random quotes we encode", () => {
    const quote = arb.quoteV3.map((q) => ({ ...q, header: { ...q.header, teeType: 0 } }));
    fc.assert(fc.property(quote, (q) => assertSameAsPhala(q, encodeQuote(q))), { numRuns: 200 });
  });
});
