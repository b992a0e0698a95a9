import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import * as sgx from "../../src/sgx/index.js";
import * as arb from "./arbitraries.js";
import { needsIntelSample, sampleQuote } from "./sample.js";

const RUNS = { numRuns: 300 };

function roundTrips<T>(name: string, a: fc.Arbitrary<T>, encode: (v: T) => Buffer, decode: (b: Buffer) => T, size?: number) {
  it(`${name} round-trips`, () => {
    fc.assert(
      fc.property(a, (v) => {
        const bytes = encode(v);
        if (size !== undefined) assert.equal(bytes.length, size);
        assert.deepEqual(decode(bytes), v);
        assert.deepEqual(encode(decode(bytes)), bytes);
      }),
      RUNS,
    );
  });
}

function onlyCodecErrors(fn: (b: Buffer) => unknown): (b: Buffer) => void {
  return (b) => {
    try {
      fn(b);
    } catch (err) {
      if (!(err instanceof sgx.SgxCodecError)) throw err;
    }
  };
}

describe("codec properties", () => {
  roundTrips("report body", arb.reportBody, sgx.encodeReportBody, sgx.decodeReportBody, sgx.REPORT_BODY_SIZE);
  roundTrips("report", arb.report, sgx.encodeReport, sgx.decodeReport, sgx.REPORT_SIZE);
  roundTrips("target info", arb.targetInfo, sgx.encodeTargetInfo, sgx.decodeTargetInfo, sgx.TARGET_INFO_SIZE);
  roundTrips("att key id base", arb.attKeyIdBase, sgx.encodeAttKeyIdBase, sgx.decodeAttKeyIdBase, sgx.ATT_KEY_ID_BASE_SIZE);
  roundTrips("att key id ext", arb.attKeyIdExt, sgx.encodeAttKeyIdExt, sgx.decodeAttKeyIdExt, sgx.ATT_KEY_ID_EXT_SIZE);
  roundTrips("qe report info", arb.qeReportInfo, sgx.encodeQeReportInfo, sgx.decodeQeReportInfo, sgx.QE_REPORT_INFO_SIZE);
  roundTrips(
    "att key id list",
    fc.record({ id: arb.u16, version: arb.u16, keys: fc.array(arb.attKeyIdExt, { maxLength: 4 }) }).map(({ id, version, keys }) => ({
      header: { id, version, numAttIds: keys.length },
      keyIds: keys,
    })),
    sgx.encodeAttKeyIdList,
    sgx.decodeAttKeyIdList,
  );
  roundTrips("quote v3", arb.quoteV3, sgx.encodeQuote, sgx.parseQuote);
  roundTrips("quote v3 (decoded as views)", arb.quoteV3, sgx.encodeQuote, (b) => sgx.parseQuote(b, { views: true }));

  it("a quote's decoded fields are copies by default and views into the input with { views: true }", () => {
    fc.assert(
      fc.property(arb.quoteV3, (v) => {
        fc.pre(v.signatureData.certification.data.length > 0);
        const bytes = sgx.encodeQuote(v);
        const copied = sgx.parseQuote(bytes);
        const viewed = sgx.parseQuote(bytes, { views: true });
        bytes[sgx.QUOTE_ISV_SIGNATURE_OFFSET] ^= 0xff;
        bytes[bytes.length - 1] ^= 0xff;
        assert.deepEqual(copied.signatureData.isvSignature, v.signatureData.isvSignature);
        assert.deepEqual(copied.signatureData.certification.data, v.signatureData.certification.data);
        assert.equal(viewed.signatureData.isvSignature[0], v.signatureData.isvSignature[0] ^ 0xff);
        assert.equal(viewed.signatureData.certification.data.at(-1), v.signatureData.certification.data.at(-1)! ^ 0xff);
      }),
      { numRuns: 50 },
    );
  });

  it("decoded bytes are the bytes: random 384/432/512/960-byte buffers re-encode identically", () => {
    const cases: [number, (b: Buffer) => Buffer][] = [
      [384, (b) => sgx.encodeReportBody(sgx.decodeReportBody(b))],
      [432, (b) => sgx.encodeReport(sgx.decodeReport(b))],
      [512, (b) => sgx.encodeTargetInfo(sgx.decodeTargetInfo(b))],
      [256, (b) => sgx.encodeAttKeyIdExt(sgx.decodeAttKeyIdExt(b))],
      [960, (b) => sgx.encodeQeReportInfo(sgx.decodeQeReportInfo(b))],
    ];
    for (const [n, rt] of cases) fc.assert(fc.property(arb.bytes(n), (b) => assert.deepEqual(rt(b), b)), { numRuns: 100 });
  });

  it("random bytes throw nothing but SgxCodecError", () => {
    const decoders = [
      sgx.parseQuote,
      sgx.decodeReportBody,
      sgx.decodeReport,
      sgx.decodeTargetInfo,
      sgx.decodeAttKeyIdBase,
      sgx.decodeAttKeyIdExt,
      sgx.decodeAttKeyIdList,
      sgx.decodeQeReportInfo,
      sgx.declaredQuoteLength,
      sgx.isvSignedBytes,
      sgx.qeReportBytes,
      (b: Buffer) => sgx.pckChainFromCertData({ type: 5, data: b }),
      (b: Buffer) => sgx.ppidFromCertData({ type: 1 + (b[0] ?? 0) % 3, data: b }),
    ];
    fc.assert(fc.property(arb.varBytes(1200), (b) => decoders.forEach((d) => onlyCodecErrors(d)(b))), { numRuns: 500 });
  });

  it("a valid-looking list header with a wrong count is an SgxCodecError", () => {
    const b = Buffer.alloc(8 + 256);
    b.writeUInt32LE(2, 4);
    assert.throws(() => sgx.decodeAttKeyIdList(b), sgx.SgxCodecError);
    b.writeUInt32LE(0, 4);
    assert.throws(() => sgx.decodeAttKeyIdList(b), /trailing/);
  });

  it("mutated sample quotes either parse and re-encode identically or throw SgxCodecError", needsIntelSample, () => {
    const sample = sampleQuote();
    const mutation = fc.record({ at: fc.integer({ min: 0, max: sample.length - 1 }), value: fc.integer({ min: 0, max: 255 }), cut: fc.integer({ min: 0, max: 8 }) });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        const b = Buffer.from(sample);
        for (const m of ms) b[m.at] = m.value;
        const cut = b.subarray(0, b.length - ms[0].cut);
        try {
          assert.deepEqual(sgx.encodeQuote(sgx.parseQuote(cut)), cut);
        } catch (err) {
          if (!(err instanceof sgx.SgxCodecError)) throw err;
        }
      }),
      RUNS,
    );
  });
});
