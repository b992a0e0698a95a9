// aesm_error_t and the sgx_status_t values Intel's quote-ex client produces, checked against numbers written
// out by hand from Intel's headers (linux-sgx psw/ae/inc/internal/aesm_error.h, common/inc/sgx_error.h),
// not from the project's enums.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AesmError, SgxStatus, aesmErrorName, sgxStatusName } from "../../src/aesm/error-codes.js";

// aesm_error.h: AESM_<NAME> = value. 27 is not defined.
const AESM: ReadonlyArray<[string, number]> = [
  ["SUCCESS", 0], ["UNEXPECTED_ERROR", 1], ["NO_DEVICE_ERROR", 2], ["PARAMETER_ERROR", 3], ["EPIDBLOB_ERROR", 4],
  ["EPID_REVOKED", 5], ["GET_LICENSETOKEN_ERROR", 6], ["SESSION_INVALID", 7], ["MAX_NUM_SESSION_REACHED", 8],
  ["PSDA_UNAVAILABLE", 9], ["EPH_SESSION_FAILED", 10], ["LONG_TERM_PAIRING_FAILED", 11], ["NETWORK_ERROR", 12],
  ["NETWORK_BUSY_ERROR", 13], ["PROXY_SETTING_ASSIST", 14], ["FILE_ACCESS_ERROR", 15], ["SGX_PROVISION_FAILED", 16],
  ["SERVICE_STOPPED", 17], ["BUSY", 18], ["BACKEND_SERVER_BUSY", 19], ["UPDATE_AVAILABLE", 20], ["OUT_OF_MEMORY_ERROR", 21],
  ["MSG_ERROR", 22], ["THREAD_ERROR", 23], ["SGX_DEVICE_NOT_AVAILABLE", 24], ["ENABLE_SGX_DEVICE_FAILED", 25],
  ["PLATFORM_INFO_BLOB_INVALID_SIG", 26], ["KDF_MISMATCH", 28], ["OUT_OF_EPC", 29], ["SERVICE_UNAVAILABLE", 30],
  ["UNRECOGNIZED_PLATFORM", 31], ["ECDSA_ID_MISMATCH", 32], ["PATHNAME_BUFFER_OVERFLOW", 33], ["ERROR_STORED_KEY", 34],
  ["PUB_KEY_ID_MISMATCH", 35], ["INVALID_PCE_SIG_SCHEME", 36], ["ATT_KEY_BLOB_ERROR", 37], ["UNSUPPORTED_ATT_KEY_ID", 38],
  ["UNSUPPORTED_LOADING_POLICY", 39], ["INTERFACE_UNAVAILABLE", 40], ["PLATFORM_LIB_UNAVAILABLE", 41],
  ["ATT_KEY_NOT_INITIALIZED", 42], ["ATT_KEY_CERT_DATA_INVALID", 43], ["NO_PLATFORM_CERT_DATA", 44], ["ERROR_REPORT", 45],
  ["ENCLAVE_LOST", 46], ["INVALID_REPORT", 47], ["ENCLAVE_LOAD_ERROR", 48], ["UNABLE_TO_GENERATE_QE_REPORT", 49],
  ["KEY_CERTIFICATION_ERROR", 50], ["CONFIG_UNSUPPORTED", 51],
];

// sgx_error.h: SGX_MK_ERROR(x) = x; the families are 0x0xxx, 0x2xxx (device), 0x3xxx (crypto), 0x4xxx (service), 0x8xxx (ECDSA).
const SGX: ReadonlyArray<[string, number]> = [
  ["SGX_SUCCESS", 0x0000], ["SGX_ERROR_UNEXPECTED", 0x0001], ["SGX_ERROR_INVALID_PARAMETER", 0x0002],
  ["SGX_ERROR_OUT_OF_MEMORY", 0x0003], ["SGX_ERROR_OUT_OF_EPC", 0x2005], ["SGX_ERROR_NO_DEVICE", 0x2006],
  ["SGX_ERROR_MAC_MISMATCH", 0x3001], ["SGX_ERROR_SERVICE_UNAVAILABLE", 0x4001], ["SGX_ERROR_SERVICE_TIMEOUT", 0x4002],
  ["SGX_ERROR_UPDATE_NEEDED", 0x4006], ["SGX_ERROR_NETWORK_FAILURE", 0x4007], ["SGX_ERROR_BUSY", 0x400a],
  ["SGX_ERROR_UNRECOGNIZED_PLATFORM", 0x4012], ["SGX_ERROR_UNSUPPORTED_ATT_KEY_ID", 0x8001],
  ["SGX_ERROR_ATT_KEY_CERTIFICATION_FAILURE", 0x8002], ["SGX_ERROR_ATT_KEY_UNINITIALIZED", 0x8003],
  ["SGX_ERROR_PLATFORM_CERT_UNAVAILABLE", 0x8005],
];

const numeric = (e: object) => Object.entries(e).filter((x): x is [string, number] => typeof x[1] === "number");

describe("Intel's error numbers", () => {
  it("every aesm_error_t value is Intel's, and the enum has exactly these", () => {
    for (const [name, value] of AESM) {
      assert.equal((AesmError as unknown as Record<string, number>)[name], value, name);
      assert.equal(aesmErrorName(value), name);
    }
    assert.deepEqual(numeric(AesmError).sort((a, b) => a[1] - b[1]), AESM);
    assert.equal(aesmErrorName(27), "UNKNOWN_AESM_ERROR_27");
  });

  it("every sgx_status_t value the client produces is Intel's", () => {
    for (const [name, value] of SGX) {
      assert.equal((SgxStatus as unknown as Record<string, number>)[name], value, name);
      assert.equal(sgxStatusName(value), name);
    }
    assert.deepEqual(numeric(SgxStatus).sort((a, b) => a[1] - b[1]), SGX);
  });
});
