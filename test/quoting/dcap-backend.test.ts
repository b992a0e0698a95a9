// DcapQuotingBackend through real FFI calls into a C library with libsgx_dcap_ql's ABI.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { AesmError } from "../../src/aesm/error-codes.js";
import { QuotingError } from "../../src/quoting/backend.js";
import {
  DcapLibraryNotFoundError,
  DcapQuotingBackend,
  EnclaveLoadPolicy,
  Quote3Error,
  UNKNOWN_PUB_KEY_ID,
} from "../../src/quoting/dcap/index.js";
import { loadDcapQlLibrary } from "../../src/quoting/dcap/library.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/constants.js";
import { buildFakeDcap, FAKE, type FakeDcap } from "./fake-dcap/fake-dcap.js";

const KEY = DEFAULT_ECDSA_ATT_KEY_ID;

function appReport(): Buffer {
  const report = randomBytes(432);
  report[0] = 0x01; // 0xEE is the fake's "invalid report" trigger
  return report;
}

function isQuotingError(code: AesmError, ...fragments: string[]) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof QuotingError, `expected a QuotingError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" lacks "${f}"`);
    return true;
  };
}

/** The quote the fake writes for `report` as its `n`th quote, `size` bytes long. */
function expectedQuote(report: Buffer, n: number, size: number): Buffer {
  const q = Buffer.alloc(size, FAKE.fillByte);
  q.fill(0, 0, FAKE.reportOffset);
  q.writeUInt32LE(n, 0);
  report.copy(q, FAKE.reportOffset);
  FAKE.ecdsaId.copy(q, FAKE.ecdsaIdOffset);
  return q;
}

describe("DcapQuotingBackend over a libsgx_dcap_ql-compatible library", () => {
  let fake: FakeDcap;
  let backend: DcapQuotingBackend;

  before(() => {
    fake = buildFakeDcap();
  });
  beforeEach(() => {
    fake.reset();
    backend = new DcapQuotingBackend({ libraryPath: fake.libraryPath });
  });
  after(() => fake.remove());

  it("supports exactly the default ECDSA key id, as a private copy", async () => {
    const ids = await backend.supportedAttKeyIds();
    assert.deepEqual(ids, [KEY]);
    ids[0]!.fill(0);
    assert.deepEqual(await backend.supportedAttKeyIds(), [KEY]);
  });

  it("initQuote returns the library's 512 target info bytes, and an unknown pub key id before any quote", async () => {
    const { targetInfo, pubKeyId } = await backend.initQuote(KEY);
    assert.deepEqual(targetInfo, FAKE.targetInfo);
    assert.deepEqual(pubKeyId, UNKNOWN_PUB_KEY_ID);
  });

  it("quoteSize returns the library's uint32 out value", async () => {
    assert.equal(await backend.quoteSize(KEY), FAKE.defaultQuoteSize);
    fake.setQuoteSize(0x01020304);
    assert.equal(await backend.quoteSize(KEY), 0x01020304);
  });

  it("getQuote passes the 432 report bytes in and returns every byte the library wrote", async () => {
    fake.setQuoteSize(4600);
    const r1 = appReport();
    const r2 = appReport();
    assert.deepEqual((await backend.getQuote(r1, KEY)).quote, expectedQuote(r1, 1, 4600));
    const second = await backend.getQuote(r2, KEY);
    assert.deepEqual(second.quote, expectedQuote(r2, 2, 4600));
    assert.equal(second.qeReportInfo, undefined);
  });

  it("after a quote, initQuote's pub key id is the ECDSA_ID from the quote's QE report data", async () => {
    await backend.getQuote(appReport(), KEY);
    assert.deepEqual((await backend.initQuote(KEY)).pubKeyId, FAKE.ecdsaId);
  });

  it("maps the library's INVALID_REPORT to AESM INVALID_REPORT, naming the quote3 code", async () => {
    const report = appReport();
    report[0] = 0xee;
    await assert.rejects(backend.getQuote(report, KEY), isQuotingError(AesmError.INVALID_REPORT, "sgx_qe_get_quote", "SGX_QL_INVALID_REPORT", "0xE015"));
  });

  const mapped: Array<[Quote3Error | number, AesmError, string]> = [
    [Quote3Error.SGX_QL_ERROR_UNEXPECTED, AesmError.UNEXPECTED_ERROR, "SGX_QL_ERROR_UNEXPECTED"],
    [Quote3Error.SGX_QL_ERROR_INVALID_PARAMETER, AesmError.PARAMETER_ERROR, "SGX_QL_ERROR_INVALID_PARAMETER"],
    [Quote3Error.SGX_QL_ERROR_OUT_OF_MEMORY, AesmError.OUT_OF_MEMORY_ERROR, "SGX_QL_ERROR_OUT_OF_MEMORY"],
    [Quote3Error.SGX_QL_ATT_KEY_NOT_INITIALIZED, AesmError.ATT_KEY_NOT_INITIALIZED, "SGX_QL_ATT_KEY_NOT_INITIALIZED"],
    [Quote3Error.SGX_QL_ATT_KEY_CERT_DATA_INVALID, AesmError.ATT_KEY_CERT_DATA_INVALID, "SGX_QL_ATT_KEY_CERT_DATA_INVALID"],
    [Quote3Error.SGX_QL_NO_PLATFORM_CERT_DATA, AesmError.NO_PLATFORM_CERT_DATA, "SGX_QL_NO_PLATFORM_CERT_DATA"],
    [Quote3Error.SGX_QL_OUT_OF_EPC, AesmError.OUT_OF_EPC, "SGX_QL_OUT_OF_EPC"],
    [Quote3Error.SGX_QL_ENCLAVE_LOST, AesmError.ENCLAVE_LOST, "SGX_QL_ENCLAVE_LOST"],
    [Quote3Error.SGX_QL_ENCLAVE_LOAD_ERROR, AesmError.ENCLAVE_LOAD_ERROR, "SGX_QL_ENCLAVE_LOAD_ERROR"],
    [Quote3Error.SGX_QL_KEY_CERTIFCATION_ERROR, AesmError.KEY_CERTIFICATION_ERROR, "SGX_QL_KEY_CERTIFCATION_ERROR"],
    // Past 0xE018 Intel's aesmd answers UNEXPECTED_ERROR; the message says what it was.
    [Quote3Error.SGX_QL_NETWORK_ERROR, AesmError.UNEXPECTED_ERROR, "SGX_QL_NETWORK_ERROR"],
    [Quote3Error.SGX_QL_ERROR_INVALID_PRIVILEGE, AesmError.UNEXPECTED_ERROR, "SGX_QL_ERROR_INVALID_PRIVILEGE (0xE035): no access to the provisioning device"],
    [Quote3Error.SGX_QL_PLATFORM_UNKNOWN, AesmError.UNEXPECTED_ERROR, "SGX_QL_PLATFORM_UNKNOWN (0xE047): the PCCS does not know this platform"],
    [Quote3Error.SGX_QL_CERTS_UNAVAILABLE, AesmError.UNEXPECTED_ERROR, "SGX_QL_CERTS_UNAVAILABLE (0xE049)"],
    [Quote3Error.SGX_QL_ROOT_CA_UNTRUSTED, AesmError.UNEXPECTED_ERROR, "SGX_QL_ROOT_CA_UNTRUSTED (0xE065)"],
    [Quote3Error.SGX_QL_NO_DEVICE, AesmError.UNEXPECTED_ERROR, "SGX_QL_NO_DEVICE"],
    [Quote3Error.SGX_QL_SERVICE_TIMEOUT, AesmError.UNEXPECTED_ERROR, "SGX_QL_SERVICE_TIMEOUT"],
    [0xe027, AesmError.UNEXPECTED_ERROR, "UNKNOWN_QUOTE3_ERROR (0xE027)"],
  ];
  for (const [code, aesm, name] of mapped) {
    it(`maps ${name} from the library to AESM ${AesmError[aesm]}`, async () => {
      fake.failNext(code);
      await assert.rejects(backend.initQuote(KEY), isQuotingError(aesm, "sgx_qe_get_target_info", name));
      fake.failNext(code);
      await assert.rejects(backend.quoteSize(KEY), isQuotingError(aesm, "sgx_qe_get_quote_size", name));
      fake.failNext(code);
      await assert.rejects(backend.getQuote(appReport(), KEY), isQuotingError(aesm, name));
      // A failure leaves no state behind: the next call succeeds.
      assert.equal((await backend.getQuote(appReport(), KEY)).quote.length, FAKE.defaultQuoteSize);
    });
  }

  it("refuses a foreign key id, a short key id and a wrong-sized report without calling the library", async () => {
    const foreign = Buffer.from(KEY);
    foreign[154] = 3; // algorithm_id ECDSA P-384
    const before = fake.calls();
    await assert.rejects(backend.initQuote(foreign), isQuotingError(AesmError.UNSUPPORTED_ATT_KEY_ID));
    await assert.rejects(backend.quoteSize(KEY.subarray(0, 255)), isQuotingError(AesmError.UNSUPPORTED_ATT_KEY_ID));
    await assert.rejects(backend.getQuote(appReport(), foreign), isQuotingError(AesmError.UNSUPPORTED_ATT_KEY_ID));
    await assert.rejects(backend.getQuote(appReport().subarray(0, 431), KEY), isQuotingError(AesmError.PARAMETER_ERROR, "432"));
    assert.equal(fake.calls(), before);
    // Only the 158-byte base is matched, as aesmd does.
    const sameBase = Buffer.from(KEY);
    sameBase[200] = 0x55;
    assert.equal(await backend.quoteSize(sameBase), FAKE.defaultQuoteSize);
  });

  it("refuses qe_report_info, which the in-process API cannot fill", async () => {
    await assert.rejects(
      backend.getQuote(appReport(), KEY, Buffer.alloc(960)),
      isQuotingError(AesmError.UNABLE_TO_GENERATE_QE_REPORT, "without qe_report_info"),
    );
  });

  it("runs the library off the event loop: a call blocked inside it is released from the main thread", async () => {
    fake.holdNext();
    const quoting = backend.getQuote(appReport(), KEY);
    // Had the call run on this thread, we would not get here until the fake gave up (with an error).
    await nextTurn();
    fake.release();
    assert.equal((await quoting).quote.length, FAKE.defaultQuoteSize);
  });

  it("serialises 20 concurrent getQuote calls: never two inside the library at once", async () => {
    fake.setDelayUs(2000);
    const reports = Array.from({ length: 20 }, appReport);
    const quotes = await Promise.all(reports.map((r) => backend.getQuote(r, KEY)));
    assert.equal(fake.overlaps(), 0);
    assert.equal(fake.calls(), 40); // get_quote_size + get_quote each
    // In submission order, each with its own report.
    quotes.forEach(({ quote }, i) => assert.deepEqual(quote, expectedQuote(reports[i]!, i + 1, FAKE.defaultQuoteSize)));
  });

  it("serialises mixed initQuote, quoteSize and getQuote calls", async () => {
    fake.setDelayUs(2000);
    await Promise.all([
      ...Array.from({ length: 5 }, () => backend.initQuote(KEY)),
      ...Array.from({ length: 5 }, () => backend.quoteSize(KEY)),
      ...Array.from({ length: 5 }, () => backend.getQuote(appReport(), KEY)),
    ]);
    assert.equal(fake.overlaps(), 0);
    assert.equal(fake.calls(), 20);
  });

  it("serialises the calls of several backends on the library, which is process-wide", async () => {
    fake.setDelayUs(2000);
    const other = new DcapQuotingBackend({ libraryPath: fake.libraryPath });
    await Promise.all([backend, other, backend, other].flatMap((b) => Array.from({ length: 4 }, () => b.getQuote(appReport(), KEY))));
    assert.equal(fake.overlaps(), 0);
    assert.equal(fake.calls(), 32);
  });

  // Relies on koffi running async calls on several threads (libuv's pool, 4 by default).
  it("the overlap detector works: unserialised calls through the raw bindings do overlap", async () => {
    fake.setDelayUs(20_000);
    const lib = loadDcapQlLibrary(fake.libraryPath);
    await Promise.all(Array.from({ length: 4 }, () => lib.getQuoteSize(new Uint32Array(1))));
    assert.ok(fake.overlaps() > 0, "four concurrent raw calls never overlapped");
  });

  it("passes quote_size through: a buffer smaller than the quote is the library's INVALID_PARAMETER", async () => {
    const lib = loadDcapQlLibrary(fake.libraryPath);
    const quote = Buffer.alloc(FAKE.defaultQuoteSize);
    assert.equal(await lib.getQuote(appReport(), FAKE.defaultQuoteSize - 1, quote), Quote3Error.SGX_QL_ERROR_INVALID_PARAMETER);
    assert.ok(quote.equals(Buffer.alloc(FAKE.defaultQuoteSize)), "the library wrote into a refused buffer");
    assert.equal(await lib.getQuote(appReport(), FAKE.defaultQuoteSize, quote), Quote3Error.SGX_QL_SUCCESS);
  });

  it("applies the enclave load policy before the first call", async () => {
    const ephemeral = new DcapQuotingBackend({ libraryPath: fake.libraryPath, enclaveLoadPolicy: EnclaveLoadPolicy.EPHEMERAL });
    await ephemeral.quoteSize(KEY);
    assert.equal(fake.loadPolicy(), EnclaveLoadPolicy.EPHEMERAL);
    assert.equal(fake.calls(), 2);
  });

  it("fails every call when the load policy is refused", async () => {
    fake.failNext(Quote3Error.SGX_QL_UNSUPPORTED_LOADING_POLICY);
    const refused = new DcapQuotingBackend({ libraryPath: fake.libraryPath, enclaveLoadPolicy: EnclaveLoadPolicy.EPHEMERAL });
    const policyError = isQuotingError(AesmError.UNSUPPORTED_LOADING_POLICY, "sgx_qe_set_enclave_load_policy");
    await assert.rejects(refused.initQuote(KEY), policyError);
    await assert.rejects(refused.getQuote(appReport(), KEY), policyError);
    assert.equal(fake.calls(), 1);
  });

  it("close waits for calls in flight and refuses later ones", async () => {
    fake.setDelayUs(5000);
    const inFlight = backend.getQuote(appReport(), KEY);
    await backend.close();
    assert.equal(fake.calls(), 2);
    assert.equal((await inFlight).quote.length, FAKE.defaultQuoteSize);
    await assert.rejects(backend.quoteSize(KEY), isQuotingError(AesmError.SERVICE_STOPPED, "closed"));
  });

  it("refuses to load while SGX_AESM_ADDR is set, since the library would then forward to aesmd", () => {
    process.env.SGX_AESM_ADDR = "";
    try {
      assert.throws(() => new DcapQuotingBackend({ libraryPath: fake.libraryPath }), isQuotingError(AesmError.INTERFACE_UNAVAILABLE, "SGX_AESM_ADDR"));
    } finally {
      delete process.env.SGX_AESM_ADDR;
    }
  });
});

describe("DcapQuotingBackend without the library", () => {
  const notFound = (libraryPath: string, detail: string) => (e: unknown) => {
    assert.ok(e instanceof DcapLibraryNotFoundError, String(e));
    assert.match(e.message, /^Intel DCAP quote library not found \(/);
    assert.doesNotMatch(e.message, /--simulate/, "library users have no CLI flags");
    assert.ok(e.message.includes(detail), e.message);
    assert.equal(e.libraryPath, libraryPath);
    return true;
  };

  it("a missing file is the clear not-found error", () => {
    const missing = "/nonexistent/libsgx_dcap_ql.so.1";
    assert.throws(() => new DcapQuotingBackend({ libraryPath: missing }), notFound(missing, missing));
  });

  it("a library without the sgx_qe_* symbols is refused the same way", () => {
    assert.throws(() => new DcapQuotingBackend({ libraryPath: "libm.so.6" }), notFound("libm.so.6", "not an Intel DCAP quote library"));
  });
});
