// fast-check generators for every SGX structure, shared by the codec and simulator property tests.
import fc from "fast-check";

// Plain objects (fast-check defaults to null-prototype records, which deepEqual tells apart).
const record = <T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
import type { AttKeyIdBase, AttKeyIdExt, Attributes, QeReportInfo, QuoteV3, Report, ReportBody, TargetInfo } from "../../src/sgx/types.js";

export const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));
export const varBytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });

export const attributes: fc.Arbitrary<Attributes> = record({ flags: u64, xfrm: u64 });

export const reportBody: fc.Arbitrary<ReportBody> = record({
  cpuSvn: bytes(16),
  miscSelect: u32,
  reserved1: bytes(12),
  isvExtProdId: bytes(16),
  attributes,
  mrEnclave: bytes(32),
  reserved2: bytes(32),
  mrSigner: bytes(32),
  reserved3: bytes(32),
  configId: bytes(64),
  isvProdId: u16,
  isvSvn: u16,
  configSvn: u16,
  reserved4: bytes(42),
  isvFamilyId: bytes(16),
  reportData: bytes(64),
});

export const report: fc.Arbitrary<Report> = record({ body: reportBody, keyId: bytes(32), mac: bytes(16) });

export const targetInfo: fc.Arbitrary<TargetInfo> = record({
  mrEnclave: bytes(32),
  attributes,
  reserved1: bytes(2),
  configSvn: u16,
  miscSelect: u32,
  reserved2: bytes(8),
  configId: bytes(64),
  reserved3: bytes(384),
});

export const attKeyIdBase: fc.Arbitrary<AttKeyIdBase> = record({
  id: u16,
  version: u16,
  mrSignerLength: u16,
  mrSigner: bytes(48),
  prodId: u32,
  extendedProdId: bytes(16),
  configId: bytes(64),
  familyId: bytes(16),
  algorithmId: u32,
});

export const attKeyIdExt: fc.Arbitrary<AttKeyIdExt> = record({ base: attKeyIdBase, spid: bytes(16), attKeyType: u16, reserved: bytes(80) });

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
