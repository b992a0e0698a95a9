// confcom's quoting API for TypeScript apps: the sgx_qe_* calls of Intel's libsgx_dcap_ql, in-proc or
// out-of-proc by the same SGX_AESM_ADDR rule (see mode.ts).
export {
  AESM_ADDR_ENV,
  SIM_STATE_ENV,
  QuotingModeError,
  configureQuoting,
  getQuote,
  getQuoteSize,
  getQuoteWithReportInfo,
  getTargetInfo,
  quotingMode,
  selectQuoting,
  type QuotingMode,
  type QuotingOptions,
  type QuotingSelection,
} from "./mode.js";
export { QuotingError, type InitQuoteResult, type QuoteResult, type QuotingBackend } from "./backend.js";
export { AesmError } from "../aesm/error-codes.js";
