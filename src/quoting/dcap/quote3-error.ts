// quote3_error_t, the return type of libsgx_dcap_ql's sgx_qe_* calls (DCAP
// QuoteGeneration/quote_wrapper/common/inc/sgx_ql_lib_common.h; 0xE000 | x): every code quote generation
// can return, in process, including those the quote provider library (QPL) passes through unchanged
// (qpl/sgx_default_quote_provider.cpp, via qe_logic.cpp's certification step). For each: the AESM error
// Intel's aesmd answers with (quote3_error_to_aesm_error in linux-sgx's ecdsa_quote_service_bundle.cpp:
// 0xE001..0xE018 one to one, everything else AESM_UNEXPECTED_ERROR), and what an operator can do about it.
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
  SGX_QL_ERROR_INVALID_PRIVILEGE = 0xe035,
  SGX_QL_UNSUPPORTED_MODE = 0xe03e,
  SGX_QL_NO_DEVICE = 0xe03f,
  SGX_QL_SERVICE_UNAVAILABLE = 0xe040,
  SGX_QL_NETWORK_FAILURE = 0xe041,
  SGX_QL_SERVICE_TIMEOUT = 0xe042,
  SGX_QL_ERROR_BUSY = 0xe043,
  SGX_QL_UNKNOWN_MESSAGE_RESPONSE = 0xe044,
  SGX_QL_PERSISTENT_STORAGE_ERROR = 0xe045,
  SGX_QL_ERROR_MESSAGE_PARSING_ERROR = 0xe046,
  SGX_QL_PLATFORM_UNKNOWN = 0xe047,
  SGX_QL_UNKNOWN_API_VERSION = 0xe048,
  SGX_QL_CERTS_UNAVAILABLE = 0xe049,
  SGX_QL_PSW_NOT_AVAILABLE = 0xe052,
  SGX_QL_INTERNAL_SERVER_ERROR = 0xe063,
  SGX_QL_ROOT_CA_UNTRUSTED = 0xe065,
  SGX_QL_CONFIG_INVALID_JSON = 0xe067,
}

const PCCS_HINT = "check the PCCS URL and TLS settings in /etc/sgx_default_qcnl.conf and that the PCCS is reachable from this node";

/** What the operator can do, per code; the AESM code is aesmd's (see the header comment). */
const INFO: ReadonlyMap<Quote3Error, { aesm: AesmError; hint: string }> = new Map([
  [Quote3Error.SGX_QL_ERROR_UNEXPECTED, { aesm: AesmError.UNEXPECTED_ERROR, hint: "an unexpected error inside Intel's quote library; its own log lines above say more" }],
  [Quote3Error.SGX_QL_ERROR_INVALID_PARAMETER, { aesm: AesmError.PARAMETER_ERROR, hint: "the library refused an argument (a buffer smaller than the quote, or a bad path given to sgx_ql_set_path)" }],
  [Quote3Error.SGX_QL_ERROR_OUT_OF_MEMORY, { aesm: AesmError.OUT_OF_MEMORY_ERROR, hint: "out of heap memory in the library or its enclave; raise the container's memory limit" }],
  [Quote3Error.SGX_QL_ERROR_ECDSA_ID_MISMATCH, { aesm: AesmError.ECDSA_ID_MISMATCH, hint: "the stored attestation key blob belongs to another key; restart the quote helper to make a new one" }],
  [Quote3Error.SGX_QL_PATHNAME_BUFFER_OVERFLOW_ERROR, { aesm: AesmError.PATHNAME_BUFFER_OVERFLOW, hint: "a configured path is too long for the library" }],
  [Quote3Error.SGX_QL_FILE_ACCESS_ERROR, { aesm: AesmError.FILE_ACCESS_ERROR, hint: "the library could not read or write its attestation key blob" }],
  [Quote3Error.SGX_QL_ERROR_STORED_KEY, { aesm: AesmError.ERROR_STORED_KEY, hint: "the cached attestation key is invalid; restart the quote helper to make a new one" }],
  [Quote3Error.SGX_QL_ERROR_PUB_KEY_ID_MISMATCH, { aesm: AesmError.PUB_KEY_ID_MISMATCH, hint: "the cached attestation key is not the one requested; restart the quote helper" }],
  [Quote3Error.SGX_QL_ERROR_INVALID_PCE_SIG_SCHEME, { aesm: AesmError.INVALID_PCE_SIG_SCHEME, hint: "the PCE uses a signature scheme this QE does not support; update the DCAP packages (libsgx-dcap-ql, libsgx-pce-logic) together" }],
  [Quote3Error.SGX_QL_ATT_KEY_BLOB_ERROR, { aesm: AesmError.ATT_KEY_BLOB_ERROR, hint: "the attestation key blob is corrupt; restart the quote helper to make a new one" }],
  [Quote3Error.SGX_QL_UNSUPPORTED_ATT_KEY_ID, { aesm: AesmError.UNSUPPORTED_ATT_KEY_ID, hint: "only the default ECDSA P-256 attestation key is supported" }],
  [Quote3Error.SGX_QL_UNSUPPORTED_LOADING_POLICY, { aesm: AesmError.UNSUPPORTED_LOADING_POLICY, hint: "the enclave load policy must be 0 (persistent) or 1 (ephemeral)" }],
  [Quote3Error.SGX_QL_INTERFACE_UNAVAILABLE, { aesm: AesmError.INTERFACE_UNAVAILABLE, hint: "the PCE or QE enclave could not be loaded: most often no SGX device (/dev/sgx_enclave) in this container, or SGX disabled in the BIOS" }],
  [Quote3Error.SGX_QL_PLATFORM_LIB_UNAVAILABLE, { aesm: AesmError.PLATFORM_LIB_UNAVAILABLE, hint: "the quote provider library (libdcap_quoteprov.so.1) was not found: install libsgx-dcap-default-qpl (or your cloud's provider) or give its path with --qpl-path" }],
  [Quote3Error.SGX_QL_ATT_KEY_NOT_INITIALIZED, { aesm: AesmError.ATT_KEY_NOT_INITIALIZED, hint: "no certified attestation key yet: get the target info (InitQuoteEx) first" }],
  [Quote3Error.SGX_QL_ATT_KEY_CERT_DATA_INVALID, { aesm: AesmError.ATT_KEY_CERT_DATA_INVALID, hint: "the quote provider returned invalid certification data (PCK certificate chain); check the PCCS's cache for this platform" }],
  [Quote3Error.SGX_QL_NO_PLATFORM_CERT_DATA, { aesm: AesmError.NO_PLATFORM_CERT_DATA, hint: "the PCCS has no PCK certificate for this platform: register the platform (PCK Cert ID Retrieval Tool) or let the PCCS fetch it from Intel" }],
  [Quote3Error.SGX_QL_OUT_OF_EPC, { aesm: AesmError.OUT_OF_EPC, hint: "not enough EPC to load the quoting enclaves; raise this pod's EPC request or free EPC on the node" }],
  [Quote3Error.SGX_QL_ERROR_REPORT, { aesm: AesmError.ERROR_REPORT, hint: "a REPORT between the QE and PCE did not verify" }],
  [Quote3Error.SGX_QL_ENCLAVE_LOST, { aesm: AesmError.ENCLAVE_LOST, hint: "the quoting enclaves were lost (power transition); the next request reloads them" }],
  [Quote3Error.SGX_QL_INVALID_REPORT, { aesm: AesmError.INVALID_REPORT, hint: "the app enclave's report did not verify: it must target this node's QE (get the target info again)" }],
  [Quote3Error.SGX_QL_ENCLAVE_LOAD_ERROR, { aesm: AesmError.ENCLAVE_LOAD_ERROR, hint: "the QE3, PCE or ID enclave file could not be loaded: install libsgx-dcap-ql's enclaves or give their paths with --qe3-path, --pce-path and --ide-path" }],
  [Quote3Error.SGX_QL_UNABLE_TO_GENERATE_QE_REPORT, { aesm: AesmError.UNABLE_TO_GENERATE_QE_REPORT, hint: "the QE cannot make a report for the app enclave; call again without qe_report_info" }],
  [Quote3Error.SGX_QL_KEY_CERTIFCATION_ERROR, { aesm: AesmError.KEY_CERTIFICATION_ERROR, hint: "the quote provider returned a TCB above the platform's; check the PCCS's data for this platform" }],
  [Quote3Error.SGX_QL_NETWORK_ERROR, { aesm: AesmError.UNEXPECTED_ERROR, hint: `the quote provider could not reach the PCCS: ${PCCS_HINT}` }],
  [Quote3Error.SGX_QL_MESSAGE_ERROR, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the PCCS's PCK certificate chain could not be parsed; check the PCCS version and its data" }],
  [Quote3Error.SGX_QL_ERROR_INVALID_PRIVILEGE, { aesm: AesmError.UNEXPECTED_ERROR, hint: "no access to the provisioning device: the quote helper needs /dev/sgx_provision (read-write, group sgx_prv on the host)" }],
  [Quote3Error.SGX_QL_UNSUPPORTED_MODE, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the library is in out-of-process mode (SGX_AESM_ADDR is set): unset it" }],
  [Quote3Error.SGX_QL_NO_DEVICE, { aesm: AesmError.UNEXPECTED_ERROR, hint: "no SGX device: check /dev/sgx_enclave and /dev/sgx_provision in this container" }],
  [Quote3Error.SGX_QL_SERVICE_UNAVAILABLE, { aesm: AesmError.UNEXPECTED_ERROR, hint: `the PCCS answered "service unavailable": ${PCCS_HINT}` }],
  [Quote3Error.SGX_QL_NETWORK_FAILURE, { aesm: AesmError.UNEXPECTED_ERROR, hint: `a network failure reaching the PCCS: ${PCCS_HINT}` }],
  [Quote3Error.SGX_QL_SERVICE_TIMEOUT, { aesm: AesmError.UNEXPECTED_ERROR, hint: `the PCCS timed out: ${PCCS_HINT}` }],
  [Quote3Error.SGX_QL_ERROR_BUSY, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the library is busy; retry" }],
  [Quote3Error.SGX_QL_UNKNOWN_MESSAGE_RESPONSE, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the PCCS gave an unexpected HTTP status; check the PCCS's log" }],
  [Quote3Error.SGX_QL_PERSISTENT_STORAGE_ERROR, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the quote provider could not store its cache; check the cache directory's permissions" }],
  [Quote3Error.SGX_QL_ERROR_MESSAGE_PARSING_ERROR, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the PCCS's answer could not be parsed; check the PCCS version (API v3/v4) in /etc/sgx_default_qcnl.conf" }],
  [Quote3Error.SGX_QL_PLATFORM_UNKNOWN, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the PCCS does not know this platform: register it (PCK Cert ID Retrieval Tool, or the PCCS's platform registration)" }],
  [Quote3Error.SGX_QL_UNKNOWN_API_VERSION, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the PCS API version configured in /etc/sgx_default_qcnl.conf is unknown" }],
  [Quote3Error.SGX_QL_CERTS_UNAVAILABLE, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the PCCS has no certificates for this platform yet: register the platform, or wait for the PCCS to fetch them from Intel" }],
  [Quote3Error.SGX_QL_PSW_NOT_AVAILABLE, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the SGX PSW libraries (libsgx_urts) could not be loaded: install libsgx-urts" }],
  [Quote3Error.SGX_QL_INTERNAL_SERVER_ERROR, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the PCCS reported an internal error; check the PCCS's log" }],
  [Quote3Error.SGX_QL_ROOT_CA_UNTRUSTED, { aesm: AesmError.UNEXPECTED_ERROR, hint: "the PCCS's TLS certificate is not trusted: install its CA, or set use_secure_cert false in /etc/sgx_default_qcnl.conf for a self-signed PCCS" }],
  [Quote3Error.SGX_QL_CONFIG_INVALID_JSON, { aesm: AesmError.UNEXPECTED_ERROR, hint: "/etc/sgx_default_qcnl.conf is not valid JSON" }],
]);

/** The header's name for a code, or UNKNOWN_QUOTE3_ERROR (e.g. for verification-only codes). */
export function quote3ErrorName(code: number): string {
  return Quote3Error[code] ?? "UNKNOWN_QUOTE3_ERROR";
}

export function quote3ToAesm(code: number): AesmError {
  if (code === Quote3Error.SGX_QL_SUCCESS) return AesmError.SUCCESS;
  return INFO.get(code)?.aesm ?? AesmError.UNEXPECTED_ERROR;
}

/** What an operator can do about a code, when it is one quote generation returns. */
export function quote3Hint(code: number): string | undefined {
  return INFO.get(code)?.hint;
}

export function quote3Hex(code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** The QuotingError for a failed call; the message names the call, the quote3 code and what to do. */
export function quote3Failure(call: string, code: number): QuotingError {
  const hint = quote3Hint(code);
  return new QuotingError(quote3ToAesm(code), `${call} failed with ${quote3ErrorName(code)} (${quote3Hex(code)})${hint ? `: ${hint}` : ""}`);
}
