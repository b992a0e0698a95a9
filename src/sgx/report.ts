// sgx_report_body_t (384), sgx_report_t (432), sgx_target_info_t (512): fact sheet section 4.
import { bytes, decodeExact, encodeExact, struct, u16, u32, u64 } from "./bytes.js";
import type { Attributes, Report, ReportBody, TargetInfo } from "./types.js";

export const ATTRIBUTES = struct<Attributes>("attributes", { flags: u64, xfrm: u64 });

export const REPORT_BODY = struct<ReportBody>("report body", {
  cpuSvn: bytes(16),
  miscSelect: u32,
  reserved1: bytes(12),
  isvExtProdId: bytes(16),
  attributes: ATTRIBUTES,
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

export const REPORT = struct<Report>("report", { body: REPORT_BODY, keyId: bytes(32), mac: bytes(16) });

export const TARGET_INFO = struct<TargetInfo>("target info", {
  mrEnclave: bytes(32),
  attributes: ATTRIBUTES,
  reserved1: bytes(2),
  configSvn: u16,
  miscSelect: u32,
  reserved2: bytes(8),
  configId: bytes(64),
  reserved3: bytes(384),
});

export const decodeReportBody = (buf: Buffer): ReportBody => decodeExact(REPORT_BODY, buf);
export const encodeReportBody = (body: ReportBody): Buffer => encodeExact(REPORT_BODY, body);
export const decodeReport = (buf: Buffer): Report => decodeExact(REPORT, buf);
export const encodeReport = (report: Report): Buffer => encodeExact(REPORT, report);
export const decodeTargetInfo = (buf: Buffer): TargetInfo => decodeExact(TARGET_INFO, buf);
export const encodeTargetInfo = (ti: TargetInfo): Buffer => encodeExact(TARGET_INFO, ti);

/** An all-zero report body, the starting point for building one field by field. */
export function emptyReportBody(): ReportBody {
  return decodeReportBody(Buffer.alloc(REPORT_BODY.size));
}

/** An all-zero target info. */
export function emptyTargetInfo(): TargetInfo {
  return decodeTargetInfo(Buffer.alloc(TARGET_INFO.size));
}
