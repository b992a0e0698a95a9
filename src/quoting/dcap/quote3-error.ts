// quote3_error_t, the return type of libsgx_dcap_ql's sgx_qe_* calls (DCAP
// QuoteGeneration/quote_wrapper/common/inc/sgx_ql_lib_common.h; 0xE000 | x), limited to the codes quote
// generation can return, and the AESM error the quote helper answers with for each.
import { AesmError } from "../../aesm/error-codes.js";
import { QuotingError } from "../backend.js";

export enum Quote3Error {
  SGX_QL_SUCCESS = 0x0000,
  SGX_QL_ERROR_UNEXPECTED = 0xe001,
  SGX_QL_ERROR_INVALID_PARAMETER = 0xe002,
  SGX_QL_ERROR_OUT_OF_MEMORY = 0xe003,
  SGX_QL_ERROR_ECDSA_ID_MISMATCH = 0xe004,
  SGX_QL_PATHNAME_BUFFER_OVERFLOW_ERROR = 0xe005,
  SGX_QL_FILE_ACCESS_ERROR = 0xe006,
  SGX_QL_ERROR_STORED_KEY = 0xe007,
  SGX_QL_ERROR_PUB_KEY_ID_MISMATCH = 0xe008,
  SGX_QL_ERROR_INVALID_PCE_SIG_SCHEME = 0xe009,
  SGX_QL_ATT_KEY_BLOB_ERROR = 0xe00a,
  SGX_QL_UNSUPPORTED_ATT_KEY_ID = 0xe00b,
  SGX_QL_UNSUPPORTED_LOADING_POLICY = 0xe00c,
  SGX_QL_INTERFACE_UNAVAILABLE = 0xe00d,
  SGX_QL_PLATFORM_LIB_UNAVAILABLE = 0xe00e,
  SGX_QL_ATT_KEY_NOT_INITIALIZED = 0xe00f,
  SGX_QL_ATT_KEY_CERT_DATA_INVALID = 0xe010,
  SGX_QL_NO_PLATFORM_CERT_DATA = 0xe011,
  SGX_QL_OUT_OF_EPC = 0xe012,
  SGX_QL_ERROR_REPORT = 0xe013,
  SGX_QL_ENCLAVE_LOST = 0xe014,
  SGX_QL_INVALID_REPORT = 0xe015,
  SGX_QL_ENCLAVE_LOAD_ERROR = 0xe016,
  SGX_QL_UNABLE_TO_GENERATE_QE_REPORT = 0xe017,
  // Intel's spelling.
  SGX_QL_KEY_CERTIFCATION_ERROR = 0xe018,
  SGX_QL_NETWORK_ERROR = 0xe019,
  SGX_QL_MESSAGE_ERROR = 0xe01a,
  SGX_QL_UNSUPPORTED_MODE = 0xe03e,
  SGX_QL_NO_DEVICE = 0xe03f,
  SGX_QL_SERVICE_UNAVAILABLE = 0xe040,
  SGX_QL_NETWORK_FAILURE = 0xe041,
  SGX_QL_SERVICE_TIMEOUT = 0xe042,
  SGX_QL_ERROR_BUSY = 0xe043,
  SGX_QL_PSW_NOT_AVAILABLE = 0xe052,
}

/** The AESM error closest to each quote3 error; anything not listed is UNEXPECTED_ERROR. */
const TO_AESM: ReadonlyMap<Quote3Error, AesmError> = new Map([
  [Quote3Error.SGX_QL_ERROR_UNEXPECTED, AesmError.UNEXPECTED_ERROR],
  [Quote3Error.SGX_QL_ERROR_INVALID_PARAMETER, AesmError.PARAMETER_ERROR],
  [Quote3Error.SGX_QL_ERROR_OUT_OF_MEMORY, AesmError.OUT_OF_MEMORY_ERROR],
  [Quote3Error.SGX_QL_ERROR_ECDSA_ID_MISMATCH, AesmError.ECDSA_ID_MISMATCH],
  [Quote3Error.SGX_QL_PATHNAME_BUFFER_OVERFLOW_ERROR, AesmError.PATHNAME_BUFFER_OVERFLOW],
  [Quote3Error.SGX_QL_FILE_ACCESS_ERROR, AesmError.FILE_ACCESS_ERROR],
  [Quote3Error.SGX_QL_ERROR_STORED_KEY, AesmError.ERROR_STORED_KEY],
  [Quote3Error.SGX_QL_ERROR_PUB_KEY_ID_MISMATCH, AesmError.PUB_KEY_ID_MISMATCH],
  [Quote3Error.SGX_QL_ERROR_INVALID_PCE_SIG_SCHEME, AesmError.INVALID_PCE_SIG_SCHEME],
  [Quote3Error.SGX_QL_ATT_KEY_BLOB_ERROR, AesmError.ATT_KEY_BLOB_ERROR],
  [Quote3Error.SGX_QL_UNSUPPORTED_ATT_KEY_ID, AesmError.UNSUPPORTED_ATT_KEY_ID],
  [Quote3Error.SGX_QL_UNSUPPORTED_LOADING_POLICY, AesmError.UNSUPPORTED_LOADING_POLICY],
  [Quote3Error.SGX_QL_INTERFACE_UNAVAILABLE, AesmError.INTERFACE_UNAVAILABLE],
  [Quote3Error.SGX_QL_PLATFORM_LIB_UNAVAILABLE, AesmError.PLATFORM_LIB_UNAVAILABLE],
  [Quote3Error.SGX_QL_ATT_KEY_NOT_INITIALIZED, AesmError.ATT_KEY_NOT_INITIALIZED],
  [Quote3Error.SGX_QL_ATT_KEY_CERT_DATA_INVALID, AesmError.ATT_KEY_CERT_DATA_INVALID],
  [Quote3Error.SGX_QL_NO_PLATFORM_CERT_DATA, AesmError.NO_PLATFORM_CERT_DATA],
  [Quote3Error.SGX_QL_OUT_OF_EPC, AesmError.OUT_OF_EPC],
  [Quote3Error.SGX_QL_ERROR_REPORT, AesmError.ERROR_REPORT],
  [Quote3Error.SGX_QL_ENCLAVE_LOST, AesmError.ENCLAVE_LOST],
  [Quote3Error.SGX_QL_INVALID_REPORT, AesmError.INVALID_REPORT],
  [Quote3Error.SGX_QL_ENCLAVE_LOAD_ERROR, AesmError.ENCLAVE_LOAD_ERROR],
  [Quote3Error.SGX_QL_UNABLE_TO_GENERATE_QE_REPORT, AesmError.UNABLE_TO_GENERATE_QE_REPORT],
  [Quote3Error.SGX_QL_KEY_CERTIFCATION_ERROR, AesmError.KEY_CERTIFICATION_ERROR],
  [Quote3Error.SGX_QL_NETWORK_ERROR, AesmError.NETWORK_ERROR],
  [Quote3Error.SGX_QL_MESSAGE_ERROR, AesmError.MSG_ERROR],
  [Quote3Error.SGX_QL_NO_DEVICE, AesmError.NO_DEVICE_ERROR],
  [Quote3Error.SGX_QL_SERVICE_UNAVAILABLE, AesmError.SERVICE_UNAVAILABLE],
  [Quote3Error.SGX_QL_NETWORK_FAILURE, AesmError.NETWORK_ERROR],
  // AESM has no timeout code; Intel's client reports a timed-out service as unavailable too.
  [Quote3Error.SGX_QL_SERVICE_TIMEOUT, AesmError.SERVICE_UNAVAILABLE],
  [Quote3Error.SGX_QL_ERROR_BUSY, AesmError.BUSY],
  [Quote3Error.SGX_QL_PSW_NOT_AVAILABLE, AesmError.PLATFORM_LIB_UNAVAILABLE],
]);

/** The header's name for a code, or UNKNOWN_QUOTE3_ERROR (e.g. for verification-only codes). */
export function quote3ErrorName(code: number): string {
  return Quote3Error[code] ?? "UNKNOWN_QUOTE3_ERROR";
}

export function quote3ToAesm(code: number): AesmError {
  if (code === Quote3Error.SGX_QL_SUCCESS) return AesmError.SUCCESS;
  return TO_AESM.get(code) ?? AesmError.UNEXPECTED_ERROR;
}

/** The QuotingError for a failed call; the message names the call and the quote3 code, e.g. for logs. */
export function quote3Failure(call: string, code: number): QuotingError {
  const hex = `0x${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return new QuotingError(quote3ToAesm(code), `${call} failed with ${quote3ErrorName(code)} (${hex})`);
}
