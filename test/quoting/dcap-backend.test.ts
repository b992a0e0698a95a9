// DcapQuotingBackend through real FFI calls into a C library with libsgx_dcap_ql's ABI.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import { pino } from "pino";
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
import { loadDcapQlLibrary, QlPathType } from "../../src/quoting/dcap/library.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../../src/sgx/constants.js";
import { buildFakeDcap, FAKE, makeDevRoot, type FakeDcap } from "./fake-dcap/fake-dcap.js";

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

describe("the fake library behaves as Intel's where it matters", () => {
  let fake: FakeDcap;
  let dir: string;

  before(() => {
    fake = buildFakeDcap();
    dir = mkdtempSync(path.join(os.tmpdir(), "fake-dcap-behaviour-"));
  });
  beforeEach(() => {
    fake.reset();
    fake.setDevRoot(fake.devRoot);
  });
  after(() => {
    fake.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it("zeroes the target info on entry, even when the call then fails", async () => {
    const lib = loadDcapQlLibrary(fake.libraryPath);
    const ti = Buffer.alloc(512, 0xff);
    fake.failNext(Quote3Error.SGX_QL_ERROR_UNEXPECTED);
    assert.equal(await lib.getTargetInfo(ti), Quote3Error.SGX_QL_ERROR_UNEXPECTED);
    assert.ok(ti.equals(Buffer.alloc(512)), "the target info was not zeroed");
  });

  it("refuses load policies other than 0 and 1 with SGX_QL_UNSUPPORTED_LOADING_POLICY (0xE00C)", async () => {
    const lib = loadDcapQlLibrary(fake.libraryPath);
    assert.equal(await lib.setEnclaveLoadPolicy(7 as EnclaveLoadPolicy), 0xe00c);
    assert.equal(fake.loadPolicy(), -1);
    const backend = new DcapQuotingBackend({ libraryPath: fake.libraryPath, enclaveLoadPolicy: 2 as EnclaveLoadPolicy });
    await assert.rejects(backend.quoteSize(KEY), isQuotingError(AesmError.UNSUPPORTED_LOADING_POLICY, "sgx_qe_set_enclave_load_policy", "0xE00C"));
  });

  it("reads SGX_AESM_ADDR when loaded: a process that had it set gets UNSUPPORTED_MODE from the policy call", async () => {
    const script = `import koffi from ${JSON.stringify(import.meta.resolve("koffi"))};
      const lib = koffi.load(${JSON.stringify(fake.libraryPath)});
      const policy = lib.func("uint32_t sgx_qe_set_enclave_load_policy(int policy)");
      const oop = lib.func("int32_t fake_dcap_out_of_proc(void)");
      process.stdout.write(JSON.stringify([oop(), policy(0)]));`;
    const run = (env: Record<string, string>) =>
      promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 20_000 });
    assert.deepEqual(JSON.parse((await run({ SGX_AESM_ADDR: "" })).stdout), [1, 0xe03e]);
    assert.deepEqual(JSON.parse((await run({})).stdout), [0, 0]);
    assert.equal(fake.outOfProc(), false, "this process never had SGX_AESM_ADDR set");
  });

  it("fails as Intel's does without the devices: target info 0xE00D (PCE), quotes 0xE016 (QE3), no provision node 0xE035", async () => {
    const lib = loadDcapQlLibrary(fake.libraryPath);
    const none = path.join(dir, "none");
    makeDevRoot(none, []);
    fake.setDevRoot(none);
    assert.equal(await lib.getTargetInfo(Buffer.alloc(512)), 0xe00d);
    assert.equal(await lib.getQuoteSize(new Uint32Array(1)), 0xe016);
    assert.equal(await lib.getQuote(appReport(), FAKE.defaultQuoteSize, Buffer.alloc(FAKE.defaultQuoteSize)), 0xe016);
    fake.setDevRoot(makeDevRoot(path.join(dir, "enclave-only"), ["sgx_enclave"]));
    assert.equal(await lib.getTargetInfo(Buffer.alloc(512)), 0xe035);
    assert.equal(await lib.getQuoteSize(new Uint32Array(1)), 0, "the QE3 needs no provision key");
  });

  it("binds sgx_ql_set_path: the QE3, PCE, IDE and QPL paths are given before any other call", async () => {
    const files = Object.fromEntries(["qe3", "pce", "ide", "qpl"].map((k) => [k, path.join(dir, `${k}.so`)])) as Record<"qe3" | "pce" | "ide" | "qpl", string>;
    for (const f of Object.values(files)) writeFileSync(f, "");
    const backend = new DcapQuotingBackend({ libraryPath: fake.libraryPath, paths: files });
    await backend.quoteSize(KEY);
    assert.equal(fake.path(QlPathType.QE3), files.qe3);
    assert.equal(fake.path(QlPathType.PCE), files.pce);
    assert.equal(fake.path(QlPathType.IDE), files.ide);
    assert.equal(fake.path(QlPathType.QPL), files.qpl);
    const missing = new DcapQuotingBackend({ libraryPath: fake.libraryPath, paths: { qe3: path.join(dir, "nope.so") } });
    await assert.rejects(missing.initQuote(KEY), isQuotingError(AesmError.PARAMETER_ERROR, "sgx_ql_set_path(QE3,", "nope.so", "SGX_QL_ERROR_INVALID_PARAMETER"));
  });

  it("checkReady: device nodes first, then the QE's target info; describe() reports the library and the QE", async () => {
    const none = path.join(dir, "ready-none");
    makeDevRoot(none, []);
    fake.setDevRoot(none);
    const backend = new DcapQuotingBackend({ libraryPath: fake.libraryPath, devRoot: none });
    assert.equal(backend.readiness().ok, false);
    const r = await backend.checkReady();
    assert.equal(r.ok, false);
    assert.match(r.reason!, /no enclave device/);
    assert.equal(fake.calls(), 0, "no library call without the devices");
    const devices = makeDevRoot(path.join(dir, "ready-dev"), ["sgx_enclave", "sgx_provision"]);
    const withDevices = new DcapQuotingBackend({ libraryPath: fake.libraryPath, devRoot: devices });
    // The devices are there, but the library still cannot create the PCE (it looks elsewhere): not ready, and why.
    const refused = await withDevices.checkReady();
    assert.equal(refused.ok, false);
    assert.match(refused.reason!, /sgx_qe_get_target_info failed with SGX_QL_INTERFACE_UNAVAILABLE \(0xE00D\)/);
    fake.setDevRoot(devices);
    assert.deepEqual(await withDevices.checkReady(), { ok: true });
    assert.deepEqual(withDevices.describe(), { backendVersion: "1", qeIdentity: `mrenclave=${FAKE.targetInfo.subarray(0, 32).toString("hex")}` });
  });

  it("refuses with BUSY beyond maxQueue waiting calls", async () => {
    const backend = new DcapQuotingBackend({ libraryPath: fake.libraryPath, maxQueue: 2 });
    fake.setDelayUs(20_000);
    const calls = Array.from({ length: 5 }, () => backend.quoteSize(KEY).then(() => "ok", (e: QuotingError) => AesmError[e.code]));
    assert.equal(backend.queueDepth(), 2);
    assert.deepEqual(await Promise.all(calls), ["ok", "ok", "ok", "BUSY", "BUSY"]);
  });

  it("Intel's trace lines and C stdio output become log lines at their level, with the library as source", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const log = pino({ level: "debug", formatters: { level: (label) => ({ level: label }) } }, sink);
    const backend = new DcapQuotingBackend({ libraryPath: fake.libraryPath, log });
    const none = path.join(dir, "trace-none");
    makeDevRoot(none, []);
    fake.setDevRoot(none);
    await assert.rejects(backend.initQuote(KEY), isQuotingError(AesmError.INTERFACE_UNAVAILABLE));
    const deadline = Date.now() + 5_000;
    while (lines.length < 2 && Date.now() < deadline) await nextTurn();
    const stdio = lines.find((l) => l.stream === "stderr");
    const trace = lines.find((l) => l.trace === 1);
    assert.ok(stdio && trace, JSON.stringify(lines));
    assert.equal(stdio.level, "error");
    assert.equal(stdio.msg, "[get_driver_type urts_internal.cpp:63] Failed to open Intel SGX device.");
    assert.equal(stdio.source, "libsgx_dcap_ql");
    assert.equal(trace.level, "error");
    assert.match(String(trace.msg), /sgx_create_enclave for pce fail \[load_pce\], SGXError:2006\.$/);
    assert.equal(trace.source, "libsgx_dcap_ql");
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
