// The quoting backend on real SGX hardware: Intel's libsgx_dcap_ql in this process (its own QE3 and
// PCE enclaves, certification data from the platform's quote provider library). The library is loaded
// once per process and stays loaded (library.ts); calls run one at a time on koffi's threads.
import { AesmError } from "../../aesm/error-codes.js";
import type { Logger } from "../../common/log.js";
import {
  ATT_KEY_ID_BASE_SIZE,
  ATT_KEY_ID_EXT_SIZE,
  DEFAULT_ECDSA_ATT_KEY_ID,
  QUOTE_QE_REPORT_OFFSET,
  REPORT_SIZE,
  TARGET_INFO_SIZE,
} from "../../sgx/constants.js";
import { QuotingError, type InitQuoteResult, type QuoteResult, type QuotingBackend } from "../backend.js";
import { checkSgxDevices } from "./devices.js";
import { DEFAULT_DCAP_QL_LIBRARY, EnclaveLoadPolicy, loadDcapQlLibrary, QlPathType, type DcapQlLibrary } from "./library.js";
import { captureNativeOutput, MAX_NATIVE_LINE, type NativeOutput } from "./native-output.js";
import { quote3Failure, Quote3Error } from "./quote3-error.js";
import { SerialQueue } from "./serial-queue.js";

/** Where Intel's library finds its enclaves and quote provider (sgx_ql_set_path), when not its defaults. */
export interface DcapEnclavePaths {
  qe3?: string;
  pce?: string;
  ide?: string;
  qpl?: string;
}

export interface DcapBackendOptions {
  /** Path or soname of the library; default libsgx_dcap_ql.so.1 through the loader's search path. */
  libraryPath?: string;
  /** Directories to find the library's dependencies in when the dynamic loader does not (Intel sets no RUNPATH). */
  searchPath?: string[];
  /** Applied with sgx_qe_set_enclave_load_policy before any other call; the library's default otherwise. */
  enclaveLoadPolicy?: EnclaveLoadPolicy;
  /** Applied with sgx_ql_set_path before any other call. */
  paths?: DcapEnclavePaths;
  /** Calls allowed to wait for the library; beyond, BUSY. Unbounded by default. */
  maxQueue?: number;
  /** Where /dev/sgx_* are looked for by checkReady (default "/"). */
  devRoot?: string;
  /** Intel's own output (trace lines, C stdio) goes here as structured lines; left alone without one. */
  log?: Logger;
}

export interface Readiness {
  ok: boolean;
  reason?: string;
}

/** What the backend reports about itself, for build_info. */
export interface DcapDescription {
  /** The library's version from its file name (libsgx_dcap_ql.so.1.23.100.0 -> 1.23.100.0), or "unknown". */
  backendVersion: string;
  /** `mrenclave=<hex>` from the QE's target info, or "unknown" before the first successful call. */
  qeIdentity: string;
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

/** Codes that say the platform cannot quote at all (rather than this request failing): not ready. */
const PLATFORM_FAILURES: ReadonlySet<number> = new Set([
  Quote3Error.SGX_QL_INTERFACE_UNAVAILABLE,
  Quote3Error.SGX_QL_ENCLAVE_LOAD_ERROR,
  Quote3Error.SGX_QL_ERROR_INVALID_PRIVILEGE,
  Quote3Error.SGX_QL_NO_DEVICE,
  Quote3Error.SGX_QL_OUT_OF_EPC,
  Quote3Error.SGX_QL_PSW_NOT_AVAILABLE,
  Quote3Error.SGX_QL_PLATFORM_LIB_UNAVAILABLE,
]);

const PATH_FLAGS: ReadonlyArray<[keyof DcapEnclavePaths, QlPathType]> = [
  ["qe3", QlPathType.QE3],
  ["pce", QlPathType.PCE],
  ["ide", QlPathType.IDE],
  ["qpl", QlPathType.QPL],
];

// The library keeps process-wide state and is not thread-safe: one call at a time in this process,
// whichever backend instance makes it.
const libraryCalls = new SerialQueue();

/** The `source` of the log lines Intel's libraries print. */
const NATIVE_SOURCE = "libsgx_dcap_ql";
const SE_TRACE_DEBUG = 4;

/** se_trace levels (se_trace.h: 1 error, 2 warning, 3 notice, 4 debug) as pino levels. */
function traceLevel(level: number): "error" | "warn" | "info" | "debug" {
  return level <= 1 ? "error" : level === 2 ? "warn" : level === 3 ? "info" : "debug";
}

export class DcapQuotingBackend implements QuotingBackend {
  readonly name = "dcap";
  private readonly lib: DcapQlLibrary;
  private readonly output: NativeOutput | undefined;
  private ecdsaId: Buffer | undefined;
  private qeMrEnclave: string | undefined;
  private closed = false;
  private pending = 0;
  // Readiness: the device nodes as last checked (undefined: never checked), and the library's last word.
  private devices: Readiness | undefined;
  private libraryState: Readiness = { ok: false, reason: "the QE's target info has not been read yet" };

  // Settles before any queued call runs: the paths and the load policy, when set.
  private readonly precondition: Promise<void>;

  /** Loads the library now; throws DcapLibraryNotFoundError when it cannot. */
  constructor(private readonly options: DcapBackendOptions = {}) {
    if (process.env.SGX_AESM_ADDR !== undefined) {
      throw new QuotingError(
        AesmError.INTERFACE_UNAVAILABLE,
        "SGX_AESM_ADDR is set, so libsgx_dcap_ql would forward every call to aesmd instead of quoting in this process; unset it to use the DCAP backend",
      );
    }
    this.lib = loadDcapQlLibrary(options.libraryPath ?? DEFAULT_DCAP_QL_LIBRARY, { searchPath: options.searchPath });
    const log = options.log;
    if (log) {
      this.output = captureNativeOutput(log, NATIVE_SOURCE);
      this.lib.hookTrace(
        (level, message) => log[traceLevel(level)]({ source: NATIVE_SOURCE, trace: level }, message.trimEnd().slice(0, MAX_NATIVE_LINE)),
        log.isLevelEnabled("debug") ? SE_TRACE_DEBUG : undefined,
      );
    }
    const setup = async () => {
      for (const [key, type] of PATH_FLAGS) {
        const file = options.paths?.[key];
        if (file === undefined) continue;
        if (!this.lib.setPath) throw new QuotingError(AesmError.UNEXPECTED_ERROR, `${this.lib.path} has no sgx_ql_set_path, so the ${key} path cannot be set`);
        await this.call(`sgx_ql_set_path(${QlPathType[type]}, ${file})`, () => this.lib.setPath!(type, file));
      }
      const policy = options.enclaveLoadPolicy;
      if (policy !== undefined) await this.call("sgx_qe_set_enclave_load_policy", () => this.lib.setEnclaveLoadPolicy(policy));
    };
    const applied = options.paths || options.enclaveLoadPolicy !== undefined ? libraryCalls.run(setup) : Promise.resolve();
    applied.catch(() => undefined);
    this.precondition = applied;
  }

  async supportedAttKeyIds(): Promise<Buffer[]> {
    return [Buffer.from(DEFAULT_ECDSA_ATT_KEY_ID)];
  }

  async initQuote(attKeyId: Buffer): Promise<InitQuoteResult> {
    checkAttKeyId(attKeyId);
    const targetInfo = await this.serially(() => this.readTargetInfo());
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
    // A private copy: the library's thread reads it while the caller's event loop keeps running.
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

  /** Calls waiting for the library (beyond the one running). */
  queueDepth(): number {
    return Math.max(0, this.pending - 1);
  }

  /** The latest readiness known, without waiting: from checkReady and from the calls made since. */
  readiness(): Readiness {
    return this.devices && !this.devices.ok ? this.devices : this.libraryState;
  }

  /**
   * Whether a quote can be made now: the SGX device nodes are there and accessible, and the library
   * returns the QE's target info (the first real call, which loads the PCE and QE3).
   */
  async checkReady(): Promise<Readiness> {
    const devices = await checkSgxDevices(this.options.devRoot);
    this.devices = devices.ok ? { ok: true } : { ok: false, reason: devices.reason };
    if (!devices.ok) return this.readiness();
    try {
      await this.serially(() => this.readTargetInfo());
    } catch (err) {
      this.libraryState = { ok: false, reason: err instanceof QuotingError ? err.detail : String(err) };
    }
    return this.readiness();
  }

  describe(): DcapDescription {
    const version = /\.so\.(\d+(?:\.\d+)*)$/.exec(this.lib.file ?? "")?.[1];
    return { backendVersion: version ?? "unknown", qeIdentity: this.qeMrEnclave ? `mrenclave=${this.qeMrEnclave}` : "unknown" };
  }

  /** Waits for the library calls queued so far; later calls are refused. The library stays loaded, its QE too. */
  async close(): Promise<void> {
    this.closed = true;
    await libraryCalls.drain();
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new QuotingError(AesmError.SERVICE_STOPPED, "the DCAP quoting backend is closed"));
    const limit = this.options.maxQueue ?? Infinity;
    if (this.pending > limit) {
      return Promise.reject(new QuotingError(AesmError.BUSY, `the DCAP library is busy and ${this.pending - 1} requests are waiting for it`));
    }
    this.pending++;
    return libraryCalls
      .run(async () => {
        await this.precondition;
        return task();
      })
      .finally(() => this.pending--);
  }

  private async readTargetInfo(): Promise<Buffer> {
    const targetInfo = Buffer.alloc(TARGET_INFO_SIZE);
    await this.call("sgx_qe_get_target_info", () => this.lib.getTargetInfo(targetInfo));
    this.qeMrEnclave = targetInfo.subarray(0, 32).toString("hex");
    return targetInfo;
  }

  private async readQuoteSize(): Promise<number> {
    const size = new Uint32Array(1);
    await this.call("sgx_qe_get_quote_size", () => this.lib.getQuoteSize(size));
    return size[0]!;
  }

  private async call(name: string, native: () => Promise<number>): Promise<void> {
    const code = await (this.output ? this.output.around(native) : native());
    if (code === Quote3Error.SGX_QL_SUCCESS) {
      if (name === "sgx_qe_get_target_info" || name === "sgx_qe_get_quote") this.libraryState = { ok: true };
      return;
    }
    const failure = quote3Failure(name, code);
    if (PLATFORM_FAILURES.has(code)) this.libraryState = { ok: false, reason: failure.detail };
    throw failure;
  }
}

/** As aesmd: at least 256 bytes whose 158-byte base is the default ECDSA P-256 key's, which DCAP uses. */
function checkAttKeyId(attKeyId: Buffer): void {
  const base = ATT_KEY_ID_BASE_SIZE;
  if (attKeyId.length < ATT_KEY_ID_EXT_SIZE || !attKeyId.subarray(0, base).equals(DEFAULT_ECDSA_ATT_KEY_ID.subarray(0, base))) {
    throw new QuotingError(AesmError.UNSUPPORTED_ATT_KEY_ID, "libsgx_dcap_ql supports only the default ECDSA P-256 attestation key id");
  }
}
