// Intel's libsgx_dcap_ql loaded into this process through koffi: the sgx_qe_* calls of
// sgx_dcap_ql_wrapper.h, each run on a koffi worker thread so a slow QE load never blocks the event loop.
// Callers own the buffers and their sizes, and must not overlap calls (the library is not thread-safe).
import koffi from "koffi";
import { DEFAULT_DCAP_QL_LIBRARY } from "./library-path.js";

export { DEFAULT_DCAP_QL_LIBRARY };

/** sgx_ql_request_policy_t (sgx_pce.h). */
export enum EnclaveLoadPolicy {
  PERSISTENT = 0,
  EPHEMERAL = 1,
}

export class DcapLibraryNotFoundError extends Error {
  constructor(
    readonly libraryPath: string,
    cause: string,
  ) {
    super(`Intel DCAP quote library not found: install libsgx-dcap-ql or use --simulate (${libraryPath}: ${cause})`);
    this.name = "DcapLibraryNotFoundError";
  }
}

/** Each call resolves to the quote3_error_t it returned; buffers are written in place. */
export interface DcapQlLibrary {
  readonly path: string;
  setEnclaveLoadPolicy(policy: EnclaveLoadPolicy): Promise<number>;
  /** `targetInfo`: 512 bytes (sgx_target_info_t). */
  getTargetInfo(targetInfo: Buffer): Promise<number>;
  getQuoteSize(quoteSize: Uint32Array): Promise<number>;
  /** `report`: 432 bytes (sgx_report_t); `quote`: at least `quoteSize` bytes. */
  getQuote(report: Buffer, quoteSize: number, quote: Buffer): Promise<number>;
}

// C types are spelled as bytes here: the structs are opaque to this layer, sized by the caller.
const PROTOTYPES = {
  setEnclaveLoadPolicy: "uint32_t sgx_qe_set_enclave_load_policy(int policy)",
  getTargetInfo: "uint32_t sgx_qe_get_target_info(_Out_ uint8_t *p_qe_target_info)",
  getQuoteSize: "uint32_t sgx_qe_get_quote_size(_Out_ uint32_t *p_quote_size)",
  getQuote: "uint32_t sgx_qe_get_quote(const uint8_t *p_app_report, uint32_t quote_size, _Out_ uint8_t *p_quote)",
} as const;

type AsyncNative = { async: (...args: unknown[]) => void };

function callAsync(fn: AsyncNative, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (err: unknown, result: number) => (err ? reject(err) : resolve(result)));
  });
}

/** Loads the library (throws DcapLibraryNotFoundError when it cannot) and binds the four calls. */
export function loadDcapQlLibrary(libraryPath: string = DEFAULT_DCAP_QL_LIBRARY): DcapQlLibrary {
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load(libraryPath);
  } catch (e) {
    throw new DcapLibraryNotFoundError(libraryPath, e instanceof Error ? e.message : String(e));
  }
  const bind = (prototype: string): AsyncNative => {
    try {
      return lib.func(prototype) as AsyncNative;
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new DcapLibraryNotFoundError(libraryPath, `not an Intel DCAP quote library: ${reason}`);
    }
  };
  const fns = {
    setEnclaveLoadPolicy: bind(PROTOTYPES.setEnclaveLoadPolicy),
    getTargetInfo: bind(PROTOTYPES.getTargetInfo),
    getQuoteSize: bind(PROTOTYPES.getQuoteSize),
    getQuote: bind(PROTOTYPES.getQuote),
  };
  return {
    path: libraryPath,
    setEnclaveLoadPolicy: (policy) => callAsync(fns.setEnclaveLoadPolicy, policy),
    getTargetInfo: (targetInfo) => callAsync(fns.getTargetInfo, targetInfo),
    getQuoteSize: (quoteSize) => callAsync(fns.getQuoteSize, quoteSize),
    getQuote: (report, quoteSize, quote) => callAsync(fns.getQuote, report, quoteSize, quote),
  };
}
