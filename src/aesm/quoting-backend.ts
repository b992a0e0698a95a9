// Out-of-proc quoting: a QuotingBackend that asks an AESM-compatible service over its socket, the way
// libsgx_dcap_ql does with SGX_AESM_ADDR set (init_quote_ex size-only, then with a 32-byte buffer).
import type { InitQuoteResult, QuoteResult, QuotingBackend } from "../quoting/backend.js";
import { QuotingError } from "../quoting/backend.js";
import { AesmError, SgxStatus } from "./error-codes.js";
import { QuoteExClient, QuoteExError } from "./client.js";

export interface AesmQuotingBackendOptions {
  socketPath?: string;
  timeoutMs?: number;
}

export class AesmQuotingBackend implements QuotingBackend {
  readonly name = "aesm";
  readonly client: QuoteExClient;

  constructor(opts: AesmQuotingBackendOptions = {}) {
    this.client = new QuoteExClient(opts);
  }

  supportedAttKeyIds(): Promise<Buffer[]> {
    return mapErrors(async () => this.client.getSupportedAttKeyIds(await this.client.getSupportedAttKeyIdNum()));
  }

  initQuote(attKeyId: Buffer): Promise<InitQuoteResult> {
    return mapErrors(async () => {
      const { pubKeyIdSize } = await this.client.initQuoteEx(attKeyId);
      const { targetInfo, pubKeyId } = await this.client.initQuoteEx(attKeyId, pubKeyIdSize);
      return { targetInfo, pubKeyId: pubKeyId! };
    });
  }

  quoteSize(attKeyId: Buffer): Promise<number> {
    return mapErrors(() => this.client.getQuoteSizeEx(attKeyId));
  }

  getQuote(report: Buffer, attKeyId: Buffer, qeReportInfo?: Buffer): Promise<QuoteResult> {
    return mapErrors(async () => {
      const size = await this.client.getQuoteSizeEx(attKeyId);
      return this.client.getQuoteEx(report, attKeyId, size, qeReportInfo);
    });
  }

  async close(): Promise<void> {}
}

/** QuoteExError -> QuotingError: the AESM code when the service sent one, else the closest code. */
async function mapErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof QuoteExError)) throw err;
    const code =
      err.aesmCode ??
      (err.status === SgxStatus.SGX_ERROR_SERVICE_TIMEOUT || err.status === SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE
        ? AesmError.SERVICE_UNAVAILABLE
        : err.status === SgxStatus.SGX_ERROR_INVALID_PARAMETER
          ? AesmError.PARAMETER_ERROR
          : AesmError.UNEXPECTED_ERROR);
    throw new QuotingError(code, err.message);
  }
}
