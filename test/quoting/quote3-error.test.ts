// quote3_error_t checked against numbers written out by hand from Intel's header (DCAP
// QuoteGeneration/quote_wrapper/common/inc/sgx_ql_lib_common.h, SGX_QL_MK_ERROR(x) = 0xE000 | x), and the
// AESM mapping against Intel's aesmd (linux-sgx ecdsa_quote_service_bundle.cpp quote3_error_to_aesm_error:
// 0xE001..0xE018 to the aesm_error_t of the same name, every other code AESM_UNEXPECTED_ERROR = 1).
// Neither table is derived from the project's enums.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AesmError } from "../../src/aesm/error-codes.js";
import { QuotingError } from "../../src/quoting/backend.js";
import { Quote3Error, quote3ErrorName, quote3Failure, quote3Hint, quote3ToAesm } from "../../src/quoting/dcap/quote3-error.js";

// [name in sgx_ql_lib_common.h, value, aesm_error_t value aesmd answers with]
const INTEL: ReadonlyArray<[string, number, number]> = [
  ["SGX_QL_SUCCESS", 0x0000, 0],
  ["SGX_QL_ERROR_UNEXPECTED", 0xe001, 1],
  ["SGX_QL_ERROR_INVALID_PARAMETER", 0xe002, 3],
  ["SGX_QL_ERROR_OUT_OF_MEMORY", 0xe003, 21],
  ["SGX_QL_ERROR_ECDSA_ID_MISMATCH", 0xe004, 32],
  ["SGX_QL_PATHNAME_BUFFER_OVERFLOW_ERROR", 0xe005, 33],
  ["SGX_QL_FILE_ACCESS_ERROR", 0xe006, 15],
  ["SGX_QL_ERROR_STORED_KEY", 0xe007, 34],
  ["SGX_QL_ERROR_PUB_KEY_ID_MISMATCH", 0xe008, 35],
  ["SGX_QL_ERROR_INVALID_PCE_SIG_SCHEME", 0xe009, 36],
  ["SGX_QL_ATT_KEY_BLOB_ERROR", 0xe00a, 37],
  ["SGX_QL_UNSUPPORTED_ATT_KEY_ID", 0xe00b, 38],
  ["SGX_QL_UNSUPPORTED_LOADING_POLICY", 0xe00c, 39],
  ["SGX_QL_INTERFACE_UNAVAILABLE", 0xe00d, 40],
  ["SGX_QL_PLATFORM_LIB_UNAVAILABLE", 0xe00e, 41],
  ["SGX_QL_ATT_KEY_NOT_INITIALIZED", 0xe00f, 42],
  ["SGX_QL_ATT_KEY_CERT_DATA_INVALID", 0xe010, 43],
  ["SGX_QL_NO_PLATFORM_CERT_DATA", 0xe011, 44],
  ["SGX_QL_OUT_OF_EPC", 0xe012, 29],
  ["SGX_QL_ERROR_REPORT", 0xe013, 45],
  ["SGX_QL_ENCLAVE_LOST", 0xe014, 46],
  ["SGX_QL_INVALID_REPORT", 0xe015, 47],
  ["SGX_QL_ENCLAVE_LOAD_ERROR", 0xe016, 48],
  ["SGX_QL_UNABLE_TO_GENERATE_QE_REPORT", 0xe017, 49],
  ["SGX_QL_KEY_CERTIFCATION_ERROR", 0xe018, 50],
  ["SGX_QL_NETWORK_ERROR", 0xe019, 1],
  ["SGX_QL_MESSAGE_ERROR", 0xe01a, 1],
  ["SGX_QL_ERROR_INVALID_PRIVILEGE", 0xe035, 1],
  ["SGX_QL_UNSUPPORTED_MODE", 0xe03e, 1],
  ["SGX_QL_NO_DEVICE", 0xe03f, 1],
  ["SGX_QL_SERVICE_UNAVAILABLE", 0xe040, 1],
  ["SGX_QL_NETWORK_FAILURE", 0xe041, 1],
  ["SGX_QL_SERVICE_TIMEOUT", 0xe042, 1],
  ["SGX_QL_ERROR_BUSY", 0xe043, 1],
  ["SGX_QL_UNKNOWN_MESSAGE_RESPONSE", 0xe044, 1],
  ["SGX_QL_PERSISTENT_STORAGE_ERROR", 0xe045, 1],
  ["SGX_QL_ERROR_MESSAGE_PARSING_ERROR", 0xe046, 1],
  ["SGX_QL_PLATFORM_UNKNOWN", 0xe047, 1],
  ["SGX_QL_UNKNOWN_API_VERSION", 0xe048, 1],
  ["SGX_QL_CERTS_UNAVAILABLE", 0xe049, 1],
  ["SGX_QL_PSW_NOT_AVAILABLE", 0xe052, 1],
  ["SGX_QL_INTERNAL_SERVER_ERROR", 0xe063, 1],
  ["SGX_QL_ROOT_CA_UNTRUSTED", 0xe065, 1],
  ["SGX_QL_CONFIG_INVALID_JSON", 0xe067, 1],
];

// Verification-only codes of the same header: quote generation never returns them.
const VERIFICATION_ONLY: ReadonlyArray<[string, number]> = [
  ["SGX_QL_NO_QUOTE_COLLATERAL_DATA", 0xe01b],
  ["SGX_QL_PCK_CERT_CHAIN_ERROR", 0xe022],
  ["SGX_QL_TCB_OUT_OF_DATE", 0xe027],
  ["SGX_QL_UNABLE_TO_GET_COLLATERAL", 0xe034],
  ["SGX_QL_QVEIDENTITY_MISMATCH", 0xe050],
  ["SGX_QL_RESULT_INVALID_SIGNATURE", 0xe068],
];

const enumEntries = Object.entries(Quote3Error).filter((e): e is [string, number] => typeof e[1] === "number");

describe("quote3_error_t", () => {
  it("every code quote generation can return has Intel's name and value, and the enum has no others", () => {
    for (const [name, value] of INTEL) {
      assert.equal((Quote3Error as unknown as Record<string, number>)[name], value, name);
      assert.equal(quote3ErrorName(value), name);
    }
    assert.deepEqual(enumEntries.map(([n]) => n).sort(), INTEL.map(([n]) => n).sort());
  });

  it("maps each code to the AESM code Intel's aesmd answers with", () => {
    for (const [name, value, aesm] of INTEL) assert.equal(quote3ToAesm(value), aesm, name);
  });

  it("gives every error an operator-facing hint, and the device, provisioning and PCCS cases name their fix", () => {
    for (const [name, value] of INTEL.slice(1)) assert.ok((quote3Hint(value) ?? "").length > 20, name);
    assert.match(quote3Hint(0xe00d)!, /\/dev\/sgx_enclave/);
    assert.match(quote3Hint(0xe035)!, /\/dev\/sgx_provision/);
    assert.match(quote3Hint(0xe047)!, /register/);
    assert.match(quote3Hint(0xe049)!, /register the platform/);
    assert.match(quote3Hint(0xe019)!, /PCCS/);
    assert.match(quote3Hint(0xe065)!, /TLS certificate/);
    assert.match(quote3Hint(0xe016)!, /--qe3-path/);
  });

  it("names verification-only and unknown codes UNKNOWN_QUOTE3_ERROR and maps them to UNEXPECTED_ERROR (1)", () => {
    for (const [name, value] of [...VERIFICATION_ONLY, ["none", 0xe0aa] as [string, number]]) {
      assert.equal(quote3ErrorName(value), "UNKNOWN_QUOTE3_ERROR", name);
      assert.equal(quote3ToAesm(value), 1, name);
      assert.equal(quote3Hint(value), undefined, name);
    }
  });

  it("a failure is a QuotingError naming the call, the quote3 name, its hex value and the hint, with one prefix", () => {
    const e = quote3Failure("sgx_qe_get_target_info", 0xe00d);
    assert.ok(e instanceof QuotingError);
    assert.equal(e.code, 40);
    assert.match(e.message, /^INTERFACE_UNAVAILABLE \(40\): sgx_qe_get_target_info failed with SGX_QL_INTERFACE_UNAVAILABLE \(0xE00D\): the PCE or QE enclave/);
    // Rebuilt from its message (as across a worker thread), it keeps one prefix.
    const again = new QuotingError(e.code, e.message);
    assert.equal(again.message, e.message);
    assert.equal(again.detail, e.detail);
    assert.equal(new QuotingError(AesmError.BUSY, "x").message, "BUSY (18): x");
  });
});
