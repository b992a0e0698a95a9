import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AesmError } from "../../src/aesm/error-codes.js";
import { QuotingError } from "../../src/quoting/backend.js";
import { Quote3Error, quote3ErrorName, quote3Failure, quote3ToAesm } from "../../src/quoting/dcap/quote3-error.js";

const codes = Object.values(Quote3Error).filter((v): v is Quote3Error => typeof v === "number");

describe("quote3_error_t", () => {
  it("has Intel's values: 0xE000 | x", () => {
    assert.equal(Quote3Error.SGX_QL_ERROR_INVALID_PARAMETER, 0xe002);
    assert.equal(Quote3Error.SGX_QL_ATT_KEY_NOT_INITIALIZED, 0xe00f);
    assert.equal(Quote3Error.SGX_QL_INVALID_REPORT, 0xe015);
    assert.equal(Quote3Error.SGX_QL_NO_DEVICE, 0xe03f);
    assert.equal(Quote3Error.SGX_QL_SERVICE_UNAVAILABLE, 0xe040);
    assert.equal(Quote3Error.SGX_QL_ERROR_BUSY, 0xe043);
  });

  it("maps success to success and every error to an AESM error", () => {
    assert.equal(quote3ToAesm(Quote3Error.SGX_QL_SUCCESS), AesmError.SUCCESS);
    for (const code of codes.filter((c) => c !== Quote3Error.SGX_QL_SUCCESS)) {
      assert.notEqual(quote3ToAesm(code), AesmError.SUCCESS, quote3ErrorName(code));
    }
  });

  it("maps each AESM-named condition to the AESM code of the same name", () => {
    // Where both enums name the same condition, the mapping must agree with the names.
    for (const code of codes) {
      const stem = quote3ErrorName(code).replace(/^SGX_QL_(ERROR_)?/, "");
      if (stem in AesmError && stem !== "UNEXPECTED") assert.equal(AesmError[quote3ToAesm(code)], stem, quote3ErrorName(code));
    }
  });

  it("names unknown codes and maps them to UNEXPECTED_ERROR", () => {
    assert.equal(quote3ErrorName(0xe0aa), "UNKNOWN_QUOTE3_ERROR");
    assert.equal(quote3ToAesm(0xe0aa), AesmError.UNEXPECTED_ERROR);
  });

  it("a failure is a QuotingError naming the call, the quote3 name and its hex value", () => {
    const e = quote3Failure("sgx_qe_get_quote", Quote3Error.SGX_QL_ERROR_BUSY);
    assert.ok(e instanceof QuotingError);
    assert.equal(e.code, AesmError.BUSY);
    assert.match(e.message, /sgx_qe_get_quote failed with SGX_QL_ERROR_BUSY \(0xE043\)/);
  });
});
