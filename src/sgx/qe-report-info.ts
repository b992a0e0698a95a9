// sgx_ql_qe_report_info_t (960): the app's nonce and target info in, the QE's report for the app out.
import { bytes, decodeExact, encodeExact, struct } from "./bytes.js";
import { REPORT, TARGET_INFO } from "./report.js";
import type { QeReportInfo } from "./types.js";

export const QE_REPORT_INFO = struct<QeReportInfo>("qe report info", {
  nonce: bytes(16),
  appEnclaveTargetInfo: TARGET_INFO,
  qeReport: REPORT,
});

export const decodeQeReportInfo = (buf: Buffer): QeReportInfo => decodeExact(QE_REPORT_INFO, buf);
export const encodeQeReportInfo = (info: QeReportInfo): Buffer => encodeExact(QE_REPORT_INFO, info);
