// aesm_error_t (linux-sgx psw/ae/inc/internal/aesm_error.h) and how Intel's client maps each code to
// sgx_status_t (libsgx_quote_ex) and quote3_error_t (libsgx_dcap_ql). See the AESM fact sheet, section 3.
export enum AesmError {
  SUCCESS = 0,
  UNEXPECTED_ERROR = 1,
  NO_DEVICE_ERROR = 2,
  PARAMETER_ERROR = 3,
  EPIDBLOB_ERROR = 4,
  EPID_REVOKED = 5,
  GET_LICENSETOKEN_ERROR = 6,
  SESSION_INVALID = 7,
  MAX_NUM_SESSION_REACHED = 8,
  PSDA_UNAVAILABLE = 9,
  EPH_SESSION_FAILED = 10,
  LONG_TERM_PAIRING_FAILED = 11,
  NETWORK_ERROR = 12,
  NETWORK_BUSY_ERROR = 13,
  PROXY_SETTING_ASSIST = 14,
  FILE_ACCESS_ERROR = 15,
  SGX_PROVISION_FAILED = 16,
  SERVICE_STOPPED = 17,
  BUSY = 18,
  BACKEND_SERVER_BUSY = 19,
  UPDATE_AVAILABLE = 20,
  OUT_OF_MEMORY_ERROR = 21,
  MSG_ERROR = 22,
  THREAD_ERROR = 23,
  SGX_DEVICE_NOT_AVAILABLE = 24,
  ENABLE_SGX_DEVICE_FAILED = 25,
  PLATFORM_INFO_BLOB_INVALID_SIG = 26,
  KDF_MISMATCH = 28,
  OUT_OF_EPC = 29,
  SERVICE_UNAVAILABLE = 30,
  UNRECOGNIZED_PLATFORM = 31,
  ECDSA_ID_MISMATCH = 32,
  PATHNAME_BUFFER_OVERFLOW = 33,
  ERROR_STORED_KEY = 34,
  PUB_KEY_ID_MISMATCH = 35,
  INVALID_PCE_SIG_SCHEME = 36,
  ATT_KEY_BLOB_ERROR = 37,
  UNSUPPORTED_ATT_KEY_ID = 38,
  UNSUPPORTED_LOADING_POLICY = 39,
  INTERFACE_UNAVAILABLE = 40,
  PLATFORM_LIB_UNAVAILABLE = 41,
  ATT_KEY_NOT_INITIALIZED = 42,
  ATT_KEY_CERT_DATA_INVALID = 43,
  NO_PLATFORM_CERT_DATA = 44,
  ERROR_REPORT = 45,
  ENCLAVE_LOST = 46,
  INVALID_REPORT = 47,
  ENCLAVE_LOAD_ERROR = 48,
  UNABLE_TO_GENERATE_QE_REPORT = 49,
  KEY_CERTIFICATION_ERROR = 50,
  CONFIG_UNSUPPORTED = 51,
}

/** sgx_status_t values that Intel's quote-ex client can produce (linux-sgx common/inc/sgx_error.h). */
export enum SgxStatus {
  SGX_SUCCESS = 0x0000,
  SGX_ERROR_UNEXPECTED = 0x0001,
  SGX_ERROR_INVALID_PARAMETER = 0x0002,
  SGX_ERROR_OUT_OF_MEMORY = 0x0003,
  SGX_ERROR_OUT_OF_EPC = 0x2005,
  SGX_ERROR_NO_DEVICE = 0x2006,
  SGX_ERROR_MAC_MISMATCH = 0x3001,
  SGX_ERROR_SERVICE_UNAVAILABLE = 0x4001,
  SGX_ERROR_SERVICE_TIMEOUT = 0x4002,
  SGX_ERROR_UPDATE_NEEDED = 0x4006,
  SGX_ERROR_NETWORK_FAILURE = 0x4007,
  SGX_ERROR_BUSY = 0x400a,
  SGX_ERROR_UNRECOGNIZED_PLATFORM = 0x4012,
  SGX_ERROR_UNSUPPORTED_ATT_KEY_ID = 0x8001,
  SGX_ERROR_ATT_KEY_CERTIFICATION_FAILURE = 0x8002,
  SGX_ERROR_ATT_KEY_UNINITIALIZED = 0x8003,
  SGX_ERROR_PLATFORM_CERT_UNAVAILABLE = 0x8005,
}

/** The quote-ex operations whose error mapping differs in Intel's client. */
export type QuoteExOp = "select" | "init" | "size" | "get" | "other";

/** What libsgx_quote_ex returns to the app for an AESM error code, per operation. */
export function toSgxStatus(code: number, op: QuoteExOp = "other"): SgxStatus {
  switch (code) {
    case AesmError.SUCCESS:
      return SgxStatus.SGX_SUCCESS;
    case AesmError.PARAMETER_ERROR:
      return SgxStatus.SGX_ERROR_INVALID_PARAMETER;
    case AesmError.SERVICE_STOPPED:
    case AesmError.SERVICE_UNAVAILABLE:
    case AesmError.ENCLAVE_LOST:
    case AesmError.ENCLAVE_LOAD_ERROR:
      return SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE;
    case AesmError.OUT_OF_MEMORY_ERROR:
      return SgxStatus.SGX_ERROR_OUT_OF_MEMORY;
    case AesmError.BUSY:
      return SgxStatus.SGX_ERROR_BUSY;
    case AesmError.UPDATE_AVAILABLE:
      return SgxStatus.SGX_ERROR_UPDATE_NEEDED;
    case AesmError.UNRECOGNIZED_PLATFORM:
      return SgxStatus.SGX_ERROR_UNRECOGNIZED_PLATFORM;
    case AesmError.NETWORK_ERROR:
    case AesmError.NETWORK_BUSY_ERROR:
    case AesmError.PROXY_SETTING_ASSIST:
      return SgxStatus.SGX_ERROR_NETWORK_FAILURE;
    case AesmError.NO_DEVICE_ERROR:
      return SgxStatus.SGX_ERROR_NO_DEVICE;
    case AesmError.OUT_OF_EPC:
      return SgxStatus.SGX_ERROR_OUT_OF_EPC;
    case AesmError.UNSUPPORTED_ATT_KEY_ID:
      return op === "other" ? SgxStatus.SGX_ERROR_UNEXPECTED : SgxStatus.SGX_ERROR_UNSUPPORTED_ATT_KEY_ID;
    case AesmError.KEY_CERTIFICATION_ERROR:
      return op === "init" ? SgxStatus.SGX_ERROR_ATT_KEY_CERTIFICATION_FAILURE : SgxStatus.SGX_ERROR_UNEXPECTED;
    case AesmError.NO_PLATFORM_CERT_DATA:
      return op === "init" ? SgxStatus.SGX_ERROR_PLATFORM_CERT_UNAVAILABLE : SgxStatus.SGX_ERROR_UNEXPECTED;
    case AesmError.ATT_KEY_NOT_INITIALIZED:
      return op === "size" || op === "get" ? SgxStatus.SGX_ERROR_ATT_KEY_UNINITIALIZED : SgxStatus.SGX_ERROR_UNEXPECTED;
    case AesmError.ERROR_REPORT:
    case AesmError.INVALID_REPORT:
      return op === "get" ? SgxStatus.SGX_ERROR_MAC_MISMATCH : SgxStatus.SGX_ERROR_UNEXPECTED;
    default:
      return SgxStatus.SGX_ERROR_UNEXPECTED;
  }
}

export function aesmErrorName(code: number): string {
  return AesmError[code] ?? `UNKNOWN_AESM_ERROR_${code}`;
}

export function sgxStatusName(status: number): string {
  return SgxStatus[status] ?? `SGX_STATUS_0x${status.toString(16).padStart(4, "0")}`;
}
