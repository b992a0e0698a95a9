// fast-check generators for every SGX structure, shared by the codec and simulator property tests.
import fc from "fast-check";

import { ATT_KEY_ID_BASE, ATT_KEY_ID_EXT } from "../../src/sgx/att-key-id.js";
import * as codecs from "../../src/sgx/bytes.js";
import type { Codec, StructCodec } from "../../src/sgx/bytes.js";
import { ATTRIBUTES, REPORT, REPORT_BODY, TARGET_INFO } from "../../src/sgx/report.js";
import type { AttKeyIdBase, AttKeyIdExt, Attributes, QeReportInfo, QuoteV3, Report, ReportBody, TargetInfo } from "../../src/sgx/types.js";

// Plain objects (fast-check defaults to null-prototype records, which deepEqual tells apart).
const record = <T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;

export const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));
export const varBytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });

/** Any value of a fixed layout, field by field from its codec (integers over their range, bytes at their size). */
function ofStruct<T extends object>(codec: StructCodec<T>): fc.Arbitrary<T> {
  const field = (c: Codec<unknown>): fc.Arbitrary<unknown> => {
    if (c === codecs.u16) return u16;
    if (c === codecs.u32) return u32;
    if (c === codecs.u64) return u64;
    if ("fields" in c) return ofStruct(c as StructCodec<object>);
    return bytes(c.size);
  };
  const model = Object.fromEntries(Object.entries(codec.fields).map(([k, c]) => [k, field(c as Codec<unknown>)]));
  return record(model as { [K in keyof T]: fc.Arbitrary<T[K]> });
}

export const attributes: fc.Arbitrary<Attributes> = ofStruct(ATTRIBUTES);
export const reportBody: fc.Arbitrary<ReportBody> = ofStruct(REPORT_BODY);
export const report: fc.Arbitrary<Report> = ofStruct(REPORT);
export const targetInfo: fc.Arbitrary<TargetInfo> = ofStruct(TARGET_INFO);
export const attKeyIdBase: fc.Arbitrary<AttKeyIdBase> = ofStruct(ATT_KEY_ID_BASE);
export const attKeyIdExt: fc.Arbitrary<AttKeyIdExt> = ofStruct(ATT_KEY_ID_EXT);

export const qeReportInfo: fc.Arbitrary<QeReportInfo> = record({ nonce: bytes(16), appEnclaveTargetInfo: targetInfo, qeReport: report });

export const quoteV3: fc.Arbitrary<QuoteV3> = record({
  header: record({
    version: fc.constant(3),
    attKeyType: fc.constant(2),
    teeType: u32,
    qeSvn: u16,
    pceSvn: u16,
    qeVendorId: bytes(16),
    userData: bytes(20),
  }),
  isvReport: reportBody,
  signatureData: record({
    isvSignature: bytes(64),
    attestationKey: bytes(64),
    qeReport: reportBody,
    qeReportSignature: bytes(64),
    qeAuthData: varBytes(64),
    certification: record({ type: fc.integer({ min: 1, max: 5 }), data: varBytes(256) }),
  }),
});
