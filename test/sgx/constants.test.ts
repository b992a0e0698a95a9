import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_ECDSA_ATT_KEY_ID, INTEL_QE3_MRSIGNER, decodeAttKeyIdExt, REPORT_BODY, TARGET_INFO, QE_REPORT_INFO, ATT_KEY_ID_EXT } from "../../src/sgx/index.js";

describe("constants and layouts", () => {
  it("the default ECDSA key id has the fact sheet's bytes at the fact sheet's offsets", () => {
    const k = DEFAULT_ECDSA_ATT_KEY_ID;
    assert.equal(k.length, 256);
    assert.equal(k.readUInt16LE(0), 0);
    assert.equal(k.readUInt16LE(4), 32);
    assert.deepEqual(k.subarray(6, 38), INTEL_QE3_MRSIGNER);
    assert.deepEqual(k.subarray(38, 54), Buffer.alloc(16));
    assert.equal(k.readUInt32LE(54), 1);
    assert.equal(k.readUInt32LE(154), 2);
    assert.deepEqual(k.subarray(158), Buffer.alloc(98));
    assert.equal(decodeAttKeyIdExt(k).base.algorithmId, 2);
  });

  it("field offsets match sgx_report.h / sgx_quote.h", () => {
    assert.deepEqual(
      [REPORT_BODY.offsets.attributes, REPORT_BODY.offsets.mrEnclave, REPORT_BODY.offsets.mrSigner, REPORT_BODY.offsets.configId, REPORT_BODY.offsets.isvProdId, REPORT_BODY.offsets.isvFamilyId, REPORT_BODY.offsets.reportData],
      [48, 64, 128, 192, 256, 304, 320],
    );
    assert.deepEqual([TARGET_INFO.offsets.configSvn, TARGET_INFO.offsets.miscSelect, TARGET_INFO.offsets.configId, TARGET_INFO.offsets.reserved3], [50, 52, 64, 128]);
    assert.deepEqual([QE_REPORT_INFO.offsets.appEnclaveTargetInfo, QE_REPORT_INFO.offsets.qeReport, QE_REPORT_INFO.size], [16, 528, 960]);
    assert.deepEqual([ATT_KEY_ID_EXT.offsets.spid, ATT_KEY_ID_EXT.offsets.attKeyType, ATT_KEY_ID_EXT.offsets.reserved], [158, 174, 176]);
  });
});
