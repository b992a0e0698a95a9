// The one interface behind which quote generation lives: the simulated QE3 (src/sim/qe3) and Intel's
// DCAP quote library through FFI (src/quoting/dcap) both implement it; the quote helper, the client
// library's in-proc mode and the demo only ever see this.
import { AesmError, aesmErrorName } from "../aesm/error-codes.js";

/** A quoting failure, carrying the AESM error code that aesmd would have answered with. */
export class QuotingError extends Error {
  /** The message without the "NAME (code): " prefix. */
  readonly detail: string;

  constructor(
    readonly code: AesmError,
    message: string,
  ) {
    const prefix = `${aesmErrorName(code)} (${code}): `;
    // A message that already carries the prefix (an error rebuilt from another thread's) keeps one.
    const detail = message.startsWith(prefix) ? message.slice(prefix.length) : message;
    super(prefix + detail);
    this.detail = detail;
    this.name = "QuotingError";
  }
}

export interface InitQuoteResult {
  /** sgx_target_info_t of the quoting enclave, 512 bytes. */
  targetInfo: Buffer;
  /** ECDSA_ID = SHA-256(attestation public key || QE auth data), 32 bytes. */
  pubKeyId: Buffer;
}

export interface QuoteResult {
  /** The complete quote (v3), exactly `quoteSize()` bytes long. */
  quote: Buffer;
  /** The caller's sgx_ql_qe_report_info_t (960 B) with qe_report filled in, when one was passed. */
  qeReportInfo?: Buffer;
}

export interface QuotingBackend {
  /** Short name for logs and metrics: "simulated", "dcap". */
  readonly name: string;
  /** The attestation key ids this backend supports, each a 256-byte sgx_att_key_id_ext_t. */
  supportedAttKeyIds(): Promise<Buffer[]>;
  /** Target info of the QE and the attestation key's id; `attKeyId` is a 256-byte sgx_att_key_id_t. */
  initQuote(attKeyId: Buffer): Promise<InitQuoteResult>;
  quoteSize(attKeyId: Buffer): Promise<number>;
  /**
   * A quote for an app enclave's 432-byte report. Rejects with QuotingError(INVALID_REPORT) when the
   * report's MAC does not verify for the QE, as QE3 does.
   */
  getQuote(report: Buffer, attKeyId: Buffer, qeReportInfo?: Buffer): Promise<QuoteResult>;
  close(): Promise<void>;
}
