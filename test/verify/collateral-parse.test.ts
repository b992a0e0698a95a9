// Typed parsing at the edge: the sample's TCB Info, QE Identity and PCK SGX extension read exactly,
// TCB Info v2 reads like v3, and malformed documents fail naming the step and the JSON path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseQeIdentity, parseSgxExtension, parseTcbInfo, SgxType, VerificationError } from "../../src/verify/index.js";
import { parsePemChain } from "../../src/verify/certs.js";
import { parseQuote, pckChainFromCertData } from "../../src/sgx/index.js";
import { selectPlatformLevel } from "../../src/verify/tcb-level.js";
import { needsIntelSample, sampleCollateral, sampleQuote } from "./intel-sample.js";

const rejects = (fn: () => unknown, step: string, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof VerificationError && e.step === step && message.test(e.message));

test("the sample PCK certificate's SGX extension", needsIntelSample, () => {
  const leaf = parsePemChain("t", "chain", pckChainFromCertData(parseQuote(sampleQuote()).signatureData.certification).join(""))[0];
  const ext = parseSgxExtension(leaf);
  assert.equal(ext.fmspc.toString("hex"), "00a067110000");
  assert.equal(ext.pceId.toString("hex"), "0000");
  assert.deepEqual(ext.components, [11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(ext.pceSvn, 13);
  assert.ok(ext.cpuSvn.equals(Buffer.from(ext.components)));
  assert.equal(ext.sgxType, SgxType.Standard);
  assert.equal(ext.ppid.length, 16);
});

test("the sample TCB Info (v3) and QE Identity (v2)", needsIntelSample, () => {
  const c = sampleCollateral();
  const t = parseTcbInfo(c.tcb_info);
  assert.deepEqual([t.id, t.version, t.fmspc.toString("hex"), t.tcbEvaluationDataNumber, t.tcbLevels.length], ["SGX", 3, "00a067110000", 17, 11]);
  assert.equal(t.nextUpdate.toISOString(), "2025-07-19T10:56:11.000Z");
  const q = parseQeIdentity(c.qe_identity);
  assert.equal(q.mrsigner.toString("hex"), "8c4f5775d796503e96137f77c68a829a0056ac8ded70140b081b094490c57bff");
  assert.deepEqual([q.isvProdId, q.miscselectMask, q.tcbLevels[0].isvSvn], [1, 0xffffffff, 8]);
  assert.equal(q.attributesMask.toString("hex"), "fbffffffffffffff0000000000000000");
});

test("TCB Info v2 (sgxtcbcompNNsvn) selects the same level as v3", needsIntelSample, () => {
  const v3 = parseTcbInfo(sampleCollateral().tcb_info);
  const raw = JSON.parse(sampleCollateral().tcb_info) as { version: number; id?: string; tcbLevels: { tcb: Record<string, unknown>; advisoryIDs?: string[] }[] };
  raw.version = 2;
  delete raw.id;
  for (const l of raw.tcbLevels) {
    const comps = l.tcb.sgxtcbcomponents as { svn: number }[];
    delete l.tcb.sgxtcbcomponents;
    comps.forEach((c, i) => (l.tcb[`sgxtcbcomp${String(i + 1).padStart(2, "0")}svn`] = c.svn));
  }
  const v2 = parseTcbInfo(JSON.stringify(raw));
  const pck = { components: [11, 11, 2, 2, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], pceSvn: 13 } as Parameters<typeof selectPlatformLevel>[1];
  assert.equal(v2.version, 2);
  assert.deepEqual(v2.tcbLevels.map((l) => l.sgxComponents), v3.tcbLevels.map((l) => l.sgxComponents));
  assert.equal(selectPlatformLevel(v2, pck)?.tcbStatus, "ConfigurationAndSWHardeningNeeded");
  // PCESVN 12 misses every pcesvn-13 level; the first reachable one is {5,5,2,2,255,1,0..}/11.
  const level = selectPlatformLevel(v3, { ...pck, pceSvn: 12 });
  assert.deepEqual([level?.pceSvn, level?.sgxComponents[0], level?.tcbStatus], [11, 5, "OutOfDateConfigurationNeeded"]);
  assert.equal(selectPlatformLevel(v3, { ...pck, pceSvn: 4 }), undefined);
});

test("malformed TCB Info / QE Identity fail with the field's path", needsIntelSample, () => {
  const tcb = sampleCollateral().tcb_info;
  rejects(() => parseTcbInfo("{"), "tcb-info.parse", /not valid JSON/);
  rejects(() => parseTcbInfo(tcb.replace('"fmspc":"00A067110000"', '"fmspc":"00A0671100"')), "tcb-info.parse", /tcbInfo\.fmspc must be 6 bytes of hex/);
  rejects(() => parseTcbInfo(tcb.replace('"tcbStatus":"OutOfDate"', '"tcbStatus":"Stale"')), "tcb-info.parse", /tcbInfo\.tcbLevels\[2\]\.tcbStatus must be one of/);
  rejects(() => parseTcbInfo(tcb.replace('"id":"SGX"', '"id":"TDX"')), "tcb-info.id", /"TDX"/);
  rejects(() => parseTcbInfo(tcb.replace('"version":3', '"version":4')), "tcb-info.parse", /version 4/);
  rejects(() => parseTcbInfo(tcb.replace('{"svn":12},', "")), "tcb-info.parse", /sgxtcbcomponents must have 16 entries/);
  rejects(() => parseTcbInfo(tcb.replace('"nextUpdate":"2025-07-19T10:56:11Z"', '"nextUpdate":"soon"')), "tcb-info.parse", /tcbInfo\.nextUpdate must be an ISO 8601/);
  const qe = sampleCollateral().qe_identity;
  rejects(() => parseQeIdentity(qe.replace('"id":"QE"', '"id":"QVE"')), "qe-identity.id", /"QVE"/);
  rejects(() => parseQeIdentity(qe.replace('"isvprodid":1,', "")), "qe-identity.parse", /enclaveIdentity\.isvprodid is missing/);
  rejects(() => parseQeIdentity(qe.replace('{"tcb":{"isvsvn":8}', '{"tcb":{"isvsvn":-8}')), "qe-identity.parse", /tcbLevels\[0\]\.tcb\.isvsvn must be an integer/);
});
