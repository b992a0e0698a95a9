import assert from "node:assert/strict";
import { createHash, createPublicKey, verify, X509Certificate } from "node:crypto";
import { describe, it } from "node:test";
import {
  INTEL_QE3_MRSIGNER,
  INTEL_QE_VENDOR_ID,
  encodeQuote,
  isvSignedBytes,
  parseQuote,
  pckChainFromCertData,
  qeReportBytes,
  qeReportDataPreimage,
  quoteSignedRegions,
  declaredQuoteLength,
} from "../../src/sgx/index.js";
import { needsIntelSample, sampleQuote } from "./sample.js";

const hex = (b: Buffer) => b.toString("hex");
const p1363 = { dsaEncoding: "ieee-p1363" } as const;

function p256FromRaw(xy: Buffer) {
  return createPublicKey({ key: Buffer.concat([Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex"), Buffer.from([4]), xy]), format: "der", type: "spki" });
}

describe("Intel sample quote", needsIntelSample, () => {
  const buf = sampleQuote();
  const q = parseQuote(buf);

  it("decodes the header", () => {
    assert.equal(buf.length, 4600);
    assert.equal(q.header.version, 3);
    assert.equal(q.header.attKeyType, 2);
    assert.equal(q.header.teeType, 0);
    assert.equal(q.header.qeSvn, 10);
    assert.equal(q.header.pceSvn, 15);
    assert.deepEqual(q.header.qeVendorId, INTEL_QE_VENDOR_ID);
    assert.deepEqual(q.header.userData.subarray(16), Buffer.alloc(4));
  });

  it("decodes the ISV report body to the README's facts", () => {
    const r = q.isvReport;
    assert.equal(hex(r.mrEnclave), "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
    assert.equal(hex(r.mrSigner), "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
    assert.equal(r.isvProdId, 0);
    assert.equal(r.isvSvn, 0);
    assert.deepEqual(r.reportData, Buffer.concat([Buffer.from("Hello, world!"), Buffer.alloc(64 - 13)]));
    assert.equal(hex(r.cpuSvn), "0b0b1a18ffff04000000000000000000");
    assert.deepEqual(r.attributes, { flags: 0x5n, xfrm: 0xe7n });
  });

  it("decodes the signature data: QE report fields, auth data, cert type 5 of 3548 bytes, sig_len 4164", () => {
    const s = q.signatureData;
    assert.equal(buf.readUInt32LE(432), 4164);
    assert.equal(declaredQuoteLength(buf), 4600);
    assert.deepEqual(s.qeReport.mrSigner, INTEL_QE3_MRSIGNER);
    assert.equal(s.qeReport.isvProdId, 1);
    assert.equal(s.qeReport.isvSvn, 10);
    assert.deepEqual(s.qeReport.attributes, { flags: 0x15n, xfrm: 0xe7n });
    assert.equal(s.qeReport.miscSelect, 0);
    assert.deepEqual(s.qeAuthData, Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
    assert.equal(s.certification.type, 5);
    assert.equal(s.certification.data.length, 3548);
    assert.equal(s.certification.data[3547], 0);
  });

  it("re-encodes byte-identically", () => {
    assert.deepEqual(encodeQuote(q), buf);
  });

  it("yields the PEM chain leaf, processor CA, root", () => {
    const chain = pckChainFromCertData(q.signatureData.certification).map((p) => new X509Certificate(p));
    assert.equal(chain.length, 3);
    assert.match(chain[0].subject, /CN=Intel SGX PCK Certificate/);
    assert.match(chain[1].subject, /CN=Intel SGX PCK Processor CA/);
    assert.match(chain[2].subject, /CN=Intel SGX Root CA/);
    assert.ok(chain[0].verify(chain[1].publicKey));
    assert.ok(chain[1].verify(chain[2].publicKey));
  });

  it("signed regions are exactly what Intel's QE signed", () => {
    const s = q.signatureData;
    assert.deepEqual(isvSignedBytes(buf), buf.subarray(0, 432));
    assert.deepEqual(isvSignedBytes(q), buf.subarray(0, 432));
    assert.deepEqual(qeReportBytes(buf), buf.subarray(564, 948));
    assert.deepEqual(qeReportBytes(q), buf.subarray(564, 948));
    assert.ok(verify("sha256", isvSignedBytes(buf), { key: p256FromRaw(s.attestationKey), ...p1363 }, s.isvSignature));
    const pck = new X509Certificate(pckChainFromCertData(s.certification)[0]);
    assert.ok(verify("sha256", qeReportBytes(q), { key: pck.publicKey, ...p1363 }, s.qeReportSignature));
    const digest = createHash("sha256").update(qeReportDataPreimage(q)).digest();
    assert.deepEqual(s.qeReport.reportData, Buffer.concat([digest, Buffer.alloc(32)]));
    const regions = quoteSignedRegions(buf);
    assert.deepEqual(regions.qeReportDataPreimage, Buffer.concat([s.attestationKey, s.qeAuthData]));
    // One flipped bit in the signed region breaks the ISV signature: the region is not too wide or narrow.
    const tampered = Buffer.from(buf);
    tampered[431] ^= 1;
    assert.ok(!verify("sha256", isvSignedBytes(tampered), { key: p256FromRaw(s.attestationKey), ...p1363 }, s.isvSignature));
  });
});
