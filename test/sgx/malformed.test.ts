import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SgxCodecError, parseQuote, encodeQuote } from "../../src/sgx/index.js";
import { needsIntelSample, sampleQuote } from "./sample.js";

function codecError(fn: () => unknown): SgxCodecError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SgxCodecError, `expected SgxCodecError, got ${String(err)}`);
    return err;
  }
  assert.fail("expected an SgxCodecError");
}

describe("malformed quotes", needsIntelSample, () => {
  const buf = sampleQuote();

  it("every truncation of the sample throws SgxCodecError", () => {
    for (let n = 0; n < buf.length; n++) codecError(() => parseQuote(buf.subarray(0, n)));
  });

  it("names field, offset and sizes on truncation", () => {
    assert.equal(
      codecError(() => parseQuote(buf.subarray(0, 1052))).message,
      "quote: signature_data.certification.data truncated at offset 1052: need 3548 bytes, have 0",
    );
    const e = codecError(() => parseQuote(buf.subarray(0, 1064)));
    assert.deepEqual([e.structure, e.field, e.offset, e.need, e.have], ["quote", "signature_data.certification.data", 1052, 3548, 12]);
    assert.equal(codecError(() => parseQuote(buf.subarray(0, 100))).message, "quote: isv_report.attributes.flags truncated at offset 96: need 8 bytes, have 4");
  });

  it("rejects trailing bytes and sizes that disagree with the length", () => {
    assert.match(codecError(() => parseQuote(Buffer.concat([buf, Buffer.alloc(1)]))).message, /1 trailing byte/);
    const longer = Buffer.from(buf);
    longer.writeUInt32LE(4165, 432);
    assert.match(codecError(() => parseQuote(longer)).message, /signature_data_len is 4165 but the signature data it covers is 4164 bytes/);
    const shorterCert = Buffer.from(buf);
    shorterCert.writeUInt32LE(3547, 1048);
    assert.match(codecError(() => parseQuote(shorterCert)).message, /1 trailing byte/);
  });

  it("rejects versions, key types and cert types a v3 parser cannot read", () => {
    const v4 = Buffer.from(buf);
    v4.writeUInt16LE(4, 0);
    assert.equal(codecError(() => parseQuote(v4)).field, "header.version");
    const p384 = Buffer.from(buf);
    p384.writeUInt16LE(3, 2);
    assert.equal(codecError(() => parseQuote(p384)).field, "header.att_key_type");
    for (const t of [0, 6, 7]) {
      const c = Buffer.from(buf);
      c.writeUInt16LE(t, 1046);
      const e = codecError(() => parseQuote(c));
      assert.deepEqual([e.field, e.offset], ["signature_data.certification.type", 1046]);
    }
  });

  it("encoding refuses fields of the wrong size", () => {
    const q = parseQuote(buf);
    q.isvReport.mrEnclave = Buffer.alloc(31);
    assert.equal(codecError(() => encodeQuote(q)).field, "isv_report.mr_enclave");
    const q2 = parseQuote(buf);
    q2.header.qeSvn = 0x10000;
    assert.equal(codecError(() => encodeQuote(q2)).field, "header.qe_svn");
  });
});
