// The quoting backend on real SGX hardware: Intel's libsgx_dcap_ql in this process (its own QE3 and
// PCE enclaves, certification data from the platform's quote provider library).
import { AesmError } from "../../aesm/error-codes.js";
import {
  ATT_KEY_ID_BASE_SIZE,
  ATT_KEY_ID_EXT_SIZE,
  DEFAULT_ECDSA_ATT_KEY_ID,
  QUOTE_QE_REPORT_OFFSET,
  REPORT_SIZE,
  TARGET_INFO_SIZE,
} from "../../sgx/constants.js";
import { QuotingError, type InitQuoteResult, type QuoteResult, type QuotingBackend } from "../backend.js";
import { DEFAULT_DCAP_QL_LIBRARY, EnclaveLoadPolicy, loadDcapQlLibrary, type DcapQlLibrary } from "./library.js";
import { quote3Failure, Quote3Error } from "./quote3-error.js";
import { SerialQueue } from "./serial-queue.js";

export interface DcapBackendOptions {
  /** Path or soname of the library; default libsgx_dcap_ql.so.1 through the loader's search path. */
  libraryPath?: string;
  /** Applied with sgx_qe_set_enclave_load_policy before any other call; the library's default otherwise. */
  enclaveLoadPolicy?: EnclaveLoadPolicy;
}

/** Where a v3 quote keeps the QE report body's report_data (@320 in a body), whose first 32 bytes are the ECDSA_ID. */
const QE_REPORT_DATA_OFFSET = QUOTE_QE_REPORT_OFFSET + 320;
const ECDSA_ID_SIZE = 32;

/**
 * libsgx_dcap_ql's in-process API has no call that returns the attestation key's id (pub_key_id), and
 * the key may not even exist before the first quote (the library certifies it lazily). So initQuote
 * returns the ECDSA_ID read from the QE report of the latest quote this backend produced, and 32 zero
 * bytes before that. libsgx_dcap_ql, the usual client of the quote helper's InitQuoteEx, checks only
 * the id's size (32), never its value.
 */
export const UNKNOWN_PUB_KEY_ID: Buffer = Buffer.alloc(ECDSA_ID_SIZE);

// The library keeps process-wide state and is not thread-safe: one call at a time in this process,
// whichever backend instance makes it.
const libraryCalls = new SerialQueue();

export class DcapQuotingBackend implements QuotingBackend {
  readonly name = "dcap";
  private readonly lib: DcapQlLibrary;
  private ecdsaId: Buffer | undefined;
  private closed = false;

  // Settles before any queued call runs: the load policy, when one is set.
  private readonly precondition: Promise<void> = Promise.resolve();

  /** Loads the library now; throws DcapLibraryNotFoundError when it cannot. */
  constructor(options: DcapBackendOptions = {}) {
    if (process.env.SGX_AESM_ADDR !== undefined) {
      throw new QuotingError(
        AesmError.INTERFACE_UNAVAILABLE,
        "SGX_AESM_ADDR is set, so libsgx_dcap_ql would forward every call to aesmd instead of quoting in this process; unset it to use the DCAP backend",
      );
    }
    this.lib = loadDcapQlLibrary(options.libraryPath ?? DEFAULT_DCAP_QL_LIBRARY);
    const policy = options.enclaveLoadPolicy;
    if (policy !== undefined) {
      const applied = libraryCalls.run(() => this.call("sgx_qe_set_enclave_load_policy", () => this.lib.setEnclaveLoadPolicy(policy)));
      applied.catch(() => undefined);
      this.precondition = applied;
    }
  }

  async supportedAttKeyIds(): Promise<Buffer[]> {
    return [Buffer.from(DEFAULT_ECDSA_ATT_KEY_ID)];
  }

  async initQuote(attKeyId: Buffer): Promise<InitQuoteResult> {
    checkAttKeyId(attKeyId);
    const targetInfo = Buffer.alloc(TARGET_INFO_SIZE);
    await this.serially(() => this.call("sgx_qe_get_target_info", () => this.lib.getTargetInfo(targetInfo)));
    return { targetInfo, pubKeyId: Buffer.from(this.ecdsaId ?? UNKNOWN_PUB_KEY_ID) };
  }

  async quoteSize(attKeyId: Buffer): Promise<number> {
    checkAttKeyId(attKeyId);
    return this.serially(() => this.readQuoteSize());
  }

  async getQuote(report: Buffer, attKeyId: Buffer, qeReportInfo?: Buffer): Promise<QuoteResult> {
    checkAttKeyId(attKeyId);
    if (report.length !== REPORT_SIZE) {
      throw new QuotingError(AesmError.PARAMETER_ERROR, `report must be ${REPORT_SIZE} bytes, got ${report.length}`);
    }
    if (qeReportInfo !== undefined) {
      throw new QuotingError(
        AesmError.UNABLE_TO_GENERATE_QE_REPORT,
        "libsgx_dcap_ql's in-process API cannot return a QE report; call again without qe_report_info",
      );
    }
    // A private copy: the worker thread reads it while the caller's event loop keeps running.
    const appReport = Buffer.from(report);
    const quote = await this.serially(async () => {
      const size = await this.readQuoteSize();
      const out = Buffer.alloc(size);
      await this.call("sgx_qe_get_quote", () => this.lib.getQuote(appReport, size, out));
      return out;
    });
    if (quote.length >= QE_REPORT_DATA_OFFSET + ECDSA_ID_SIZE) {
      this.ecdsaId = Buffer.from(quote.subarray(QE_REPORT_DATA_OFFSET, QE_REPORT_DATA_OFFSET + ECDSA_ID_SIZE));
    }
    return { quote };
  }

  /** Waits for the library calls queued so far; later calls are refused. The library stays loaded (its QE may be). */
  async close(): Promise<void> {
    this.closed = true;
    await libraryCalls.drain();
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new QuotingError(AesmError.SERVICE_STOPPED, "the DCAP quoting backend is closed"));
    return libraryCalls.run(async () => {
      await this.precondition;
      return task();
    });
  }

  private async readQuoteSize(): Promise<number> {
    const size = new Uint32Array(1);
    await this.call("sgx_qe_get_quote_size", () => this.lib.getQuoteSize(size));
    return size[0]!;
  }

  private async call(name: string, native: () => Promise<number>): Promise<void> {
    const code = await native();
    if (code !== Quote3Error.SGX_QL_SUCCESS) throw quote3Failure(name, code);
  }
}

/** As aesmd: at least 256 bytes whose 158-byte base is the default ECDSA P-256 key's, which DCAP uses. */
function checkAttKeyId(attKeyId: Buffer): void {
  const base = ATT_KEY_ID_BASE_SIZE;
  if (attKeyId.length < ATT_KEY_ID_EXT_SIZE || !attKeyId.subarray(0, base).equals(DEFAULT_ECDSA_ATT_KEY_ID.subarray(0, base))) {
    throw new QuotingError(AesmError.UNSUPPORTED_ATT_KEY_ID, "libsgx_dcap_ql supports only the default ECDSA P-256 attestation key id");
  }
}
