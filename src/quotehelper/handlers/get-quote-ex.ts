// GetQuoteEx (17). Like aesmd, the answer is a zero-filled buffer of exactly buf_size bytes with the
// quote at its start (the zeros are sent, never allocated: quoteBufferSize), and the caller's
// qe_report_info echoed with the QE report filled in.
import { AesmError } from "../../aesm/error-codes.js";
import { QE_REPORT_INFO_SIZE, REPORT_SIZE } from "../../aesm/sizes.js";
import { QuotingError } from "../../quoting/backend.js";
import type { Handler } from "./context.js";
import { requireSupportedKeyId } from "./key-ids.js";

/**
 * aesmd mallocs whatever buf_size (a u32) asks for; we refuse beyond this with the code aesmd gives when
 * that allocation fails. Real quotes with a PCK chain are about 5 KiB.
 */
export const MAX_QUOTE_BUFFER = 1024 * 1024;

export const getQuoteEx: Handler<"getQuoteEx"> = async (req, ctx) => {
  const attKeyId = requireSupportedKeyId(req.attKeyId, ctx.supportedKeyIds);
  if (req.report.length !== REPORT_SIZE) throw new QuotingError(AesmError.PARAMETER_ERROR, `report is ${req.report.length} bytes, must be ${REPORT_SIZE}`);
  if (req.qeReportInfo !== undefined && req.qeReportInfo.length !== QE_REPORT_INFO_SIZE) {
    throw new QuotingError(AesmError.PARAMETER_ERROR, `qe_report_info is ${req.qeReportInfo.length} bytes, must be ${QE_REPORT_INFO_SIZE}`);
  }
  if (req.bufSize > MAX_QUOTE_BUFFER) throw new QuotingError(AesmError.OUT_OF_MEMORY_ERROR, `buf_size ${req.bufSize} exceeds ${MAX_QUOTE_BUFFER}`);
  // QE3 refuses a buffer smaller than the quote with SGX_QL_ERROR_INVALID_PARAMETER, which aesmd maps to PARAMETER_ERROR.
  const size = await ctx.backend.quoteSize(attKeyId);
  if (req.bufSize < size) throw new QuotingError(AesmError.PARAMETER_ERROR, `buf_size ${req.bufSize} is smaller than the ${size}-byte quote`);
  const { quote, qeReportInfo } = await ctx.backend.getQuote(req.report, attKeyId, req.qeReportInfo);
  return { kind: "getQuoteEx", errorCode: AesmError.SUCCESS, quote, qeReportInfo, quoteBufferSize: req.bufSize };
};
