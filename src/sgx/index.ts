// SGX/DCAP structures and their byte-exact codecs.
export * from "./types.js";
export { SgxCodecError } from "./errors.js";
export * from "./constants.js";
export {
  ATTRIBUTES,
  REPORT_BODY,
  REPORT,
  TARGET_INFO,
  decodeReportBody,
  encodeReportBody,
  decodeReport,
  encodeReport,
  decodeTargetInfo,
  encodeTargetInfo,
  emptyReportBody,
  emptyTargetInfo,
} from "./report.js";
export {
  ATT_KEY_ID_BASE,
  ATT_KEY_ID_EXT,
  decodeAttKeyIdBase,
  encodeAttKeyIdBase,
  decodeAttKeyIdExt,
  encodeAttKeyIdExt,
  decodeAttKeyIdList,
  encodeAttKeyIdList,
} from "./att-key-id.js";
export { QE_REPORT_INFO, decodeQeReportInfo, encodeQeReportInfo } from "./qe-report-info.js";
export {
  QUOTE_HEADER,
  decodeQuoteHeader,
  encodeQuoteHeader,
  parseQuote,
  encodeQuote,
  declaredQuoteLength,
  isvSignedBytes,
  qeReportBytes,
  qeReportDataPreimage,
  quoteSignedRegions,
  type QuoteSignedRegions,
} from "./quote.js";
export { pckChainFromCertData, ppidFromCertData, type PpidCertData } from "./cert-data.js";
export { toJson, quoteToJson, formatQuote, pckChainSummary, type CertSummary } from "./inspect.js";
