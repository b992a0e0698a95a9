// The per-process quoting mode: pure selection, then real child processes with different environments.
import assert from "node:assert/strict";
import { createHash, createPublicKey, verify } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { AesmError } from "../../src/aesm/error-codes.js";
import { DEFAULT_AESM_SOCKET } from "../../src/aesm/sizes.js";
import { QuotingModeError, selectQuoting, type QuotingOptions } from "../../src/quoting/index.js";
import { initPlatform } from "../../src/sim/platform/init.js";
import { buildFakeDcap, buildFakeDcapWithDependency, FAKE, type FakeDcap } from "./fake-dcap/fake-dcap.js";
import { startHelper, type HelperProcess } from "../quotehelper/support.js";
import { failed, ok, runProbe } from "./fixtures/run-probe.js";

describe("selectQuoting", () => {
  it("SGX_AESM_ADDR present, whatever its value, selects out-of-proc over every in-proc setting", () => {
    for (const value of ["", "1", "/some/path"]) {
      assert.deepEqual(selectQuoting({ SGX_AESM_ADDR: value, CONFCOM_SIM_STATE: "/x" }, { simulate: { stateDir: "/y" } }), {
        mode: "out-of-proc",
        socketPath: DEFAULT_AESM_SOCKET,
        timeoutMs: undefined,
      });
    }
  });

  it("out-of-proc takes the socket and timeout options", () => {
    assert.deepEqual(selectQuoting({ SGX_AESM_ADDR: "1" }, { socketPath: "/tmp/a.sock", timeoutMs: 500 }), {
      mode: "out-of-proc",
      socketPath: "/tmp/a.sock",
      timeoutMs: 500,
    });
  });

  it("without it: the simulated QE when configured (option first, then CONFCOM_SIM_STATE), else Intel's library", () => {
    assert.deepEqual(selectQuoting({ CONFCOM_SIM_STATE: "/env" }, { simulate: { stateDir: "/opt" } }), { mode: "in-proc-simulated", stateDir: "/opt" });
    assert.deepEqual(selectQuoting({ CONFCOM_SIM_STATE: "rel/dir" }), { mode: "in-proc-simulated", stateDir: path.resolve("rel/dir") });
    assert.deepEqual(selectQuoting({}), { mode: "in-proc-dcap", libraryPath: "libsgx_dcap_ql.so.1" });
    assert.deepEqual(selectQuoting({}, { dcapLibraryPath: "/l.so", socketPath: "/ignored" }), { mode: "in-proc-dcap", libraryPath: "/l.so" });
  });

  it("an empty CONFCOM_SIM_STATE is an error, not a directory", () => {
    assert.throws(() => selectQuoting({ CONFCOM_SIM_STATE: "" }), (e: unknown) => e instanceof QuotingModeError && /CONFCOM_SIM_STATE is set but empty/.test(e.message));
  });
});

describe("the quoting mode of a process", () => {
  let fake: FakeDcap;
  let dir: string;
  let stateDir: string;

  before(async () => {
    fake = buildFakeDcap();
    dir = mkdtempSync(path.join(os.tmpdir(), "quoting-mode-"));
    stateDir = path.join(dir, "platform");
    await initPlatform(stateDir, { seed: "quoting-mode-test" });
  });
  after(() => fake.remove());

  it("is in-proc-dcap without SGX_AESM_ADDR, through the library given", async () => {
    const [mode, ti, size, quote] = await runProbe(
      [{ op: "configure", options: { dcapLibraryPath: fake.libraryPath } }, { op: "targetInfo" }, { op: "quoteSize" }, { op: "quote", reportHex: "01".repeat(432) }],
      fake.env,
    );
    assert.equal(ok(mode), "in-proc-dcap");
    assert.equal(ok(ti), FAKE.targetInfo.toString("hex"));
    assert.equal(ok(size), FAKE.defaultQuoteSize);
    const q = Buffer.from(ok(quote) as string, "hex");
    assert.equal(q.length, FAKE.defaultQuoteSize);
    assert.deepEqual(q.subarray(FAKE.reportOffset, FAKE.reportOffset + 432), Buffer.alloc(432, 1));
  });

  it("in-proc-dcap without the library fails each call with the clear error and how to choose another mode", async () => {
    const [mode, ti] = await runProbe([{ op: "configure", options: { dcapLibraryPath: path.join(dir, "missing.so") } }, { op: "targetInfo" }]);
    assert.equal(ok(mode), "in-proc-dcap");
    const e = failed(ti);
    assert.equal(e.name, "QuotingModeError");
    assert.match(e.message, /^Intel DCAP quote library not found \(/);
    assert.match(e.message, /SGX_AESM_ADDR.*CONFCOM_SIM_STATE=DIR/);
    assert.doesNotMatch(e.message, /--simulate|--dcap/, "a library user is told about environment variables, not CLI flags");
  });

  it("in-proc-dcap names a dependency the loader cannot find, and dcapSearchPath finds it", async () => {
    const { libraryPath, depDir } = buildFakeDcapWithDependency(path.join(dir, "with-dep"));
    const [, missing] = await runProbe([{ op: "configure", options: { dcapLibraryPath: libraryPath } }, { op: "targetInfo" }], fake.env);
    const e = failed(missing);
    assert.match(e.message, /its dependency libsgx_qe3_logic\.so was not found .*LD_LIBRARY_PATH/);
    assert.doesNotMatch(e.message, /--dcap-search-path|--simulate/);
    const [, ti] = await runProbe([{ op: "configure", options: { dcapLibraryPath: libraryPath, dcapSearchPath: [depDir] } }, { op: "targetInfo" }], fake.env);
    assert.equal(ok(ti), FAKE.targetInfo.toString("hex"));
  });

  for (const value of ["", "1"]) {
    it(`is out-of-proc with SGX_AESM_ADDR=${JSON.stringify(value)}, on the socket given`, async () => {
      const socketPath = path.join(dir, `aesm-${value.length}.sock`);
      let connections = 0;
      // A service that hangs up at once: the client must have come to this socket, and fail cleanly.
      const server = net.createServer((s) => {
        connections++;
        s.destroy();
      });
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
      try {
        const [mode, ti] = await runProbe([{ op: "configure", options: { socketPath, timeoutMs: 5000 } }, { op: "targetInfo" }], { SGX_AESM_ADDR: value });
        assert.equal(ok(mode), "out-of-proc");
        assert.equal(failed(ti).name, "QuotingError");
        assert.ok(connections > 0, "the probe never connected to the given socket");
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }

  it("is out-of-proc to a quote helper whose backend is the DCAP library, loaded in its main thread", async () => {
    const dcapHelper = await startHelper(stateDir, path.join(dir, "dcap-helper.sock"), ["--backend", "dcap", "--dcap-library", fake.libraryPath]);
    try {
      const report = Buffer.alloc(432, 0x42);
      const [mode, ti, size, quote] = await runProbe(
        [{ op: "configure", options: { socketPath: dcapHelper.socket } }, { op: "targetInfo" }, { op: "quoteSize" }, { op: "quote", reportHex: report.toString("hex") }],
        { SGX_AESM_ADDR: "1" },
      );
      assert.equal(ok(mode), "out-of-proc");
      assert.equal(ok(ti), FAKE.targetInfo.toString("hex"));
      assert.equal(ok(size), FAKE.defaultQuoteSize);
      const q = Buffer.from(ok(quote) as string, "hex");
      assert.equal(q.length, FAKE.defaultQuoteSize);
      assert.deepEqual(q.subarray(FAKE.reportOffset, FAKE.reportOffset + 432), report);
      assert.deepEqual(q.subarray(FAKE.ecdsaIdOffset, FAKE.ecdsaIdOffset + 32), FAKE.ecdsaId);
    } finally {
      await dcapHelper.stop();
    }
  });

  it("is decided on first use from the environment alone", async () => {
    const [mode] = await runProbe([{ op: "mode" }], { SGX_AESM_ADDR: "" });
    assert.equal(ok(mode), "out-of-proc");
    const [inProc] = await runProbe([{ op: "mode" }], { CONFCOM_SIM_STATE: stateDir });
    assert.equal(ok(inProc), "in-proc-simulated");
  });

  it("refuses another mode, or other settings, once decided; the same settings are fine", async () => {
    const results = await runProbe([
      { op: "configure", options: { dcapLibraryPath: fake.libraryPath } },
      { op: "configure", options: { simulate: { stateDir } } },
      { op: "configure", options: { dcapLibraryPath: "/other/libsgx_dcap_ql.so.1" } },
      { op: "setEnv", name: "SGX_AESM_ADDR", value: "1" },
      { op: "mode" },
      { op: "configure", options: { dcapLibraryPath: fake.libraryPath } },
      { op: "targetInfo" },
    ], fake.env);
    assert.equal(ok(results[0]), "in-proc-dcap");
    const other = failed(results[1]);
    assert.equal(other.name, "QuotingModeError");
    assert.match(other.message, /already quotes in-proc-dcap .*one process uses one mode, so in-proc-simulated .* is refused/);
    assert.match(failed(results[2]).message, /already quotes in-proc-dcap .*\/other\/libsgx_dcap_ql\.so\.1\) is refused/);
    // SGX_AESM_ADDR appearing later changes nothing, as for Intel's library; asking for its mode is refused.
    assert.equal(ok(results[4]), "in-proc-dcap");
    assert.match(failed(results[5]).message, /so out-of-proc .* is refused/);
    assert.equal(ok(results[6]), FAKE.targetInfo.toString("hex"));
  });

  it("a use before configureQuoting fixes the mode the environment gave", async () => {
    const [mode, refused, same] = await runProbe(
      [{ op: "mode" }, { op: "configure", options: { socketPath: path.join(dir, "x.sock") } }, { op: "configure" }],
      { SGX_AESM_ADDR: "1" },
    );
    assert.equal(ok(mode), "out-of-proc");
    assert.match(failed(refused).message, new RegExp(`already quotes out-of-proc \\(socket ${DEFAULT_AESM_SOCKET}\\)`));
    assert.equal(ok(same), "out-of-proc");
  });

  // The same app flow in each mode that can quote here: the simulated QE in this process, or the quote
  // helper (serving the same simulated platform) through SGX_AESM_ADDR and the socket option.
  const endToEnd: Array<{ name: string; mode: string; env: () => Record<string, string>; options: () => QuotingOptions | undefined }> = [
    { name: "in-proc, CONFCOM_SIM_STATE", mode: "in-proc-simulated", env: () => ({ CONFCOM_SIM_STATE: stateDir }), options: () => undefined },
    { name: "in-proc, the simulate option", mode: "in-proc-simulated", env: () => ({}), options: () => ({ simulate: { stateDir } }) },
    { name: "out-of-proc, the quote helper", mode: "out-of-proc", env: () => ({ SGX_AESM_ADDR: "1" }), options: () => ({ socketPath: helper!.socket }) },
  ];
  let helper: HelperProcess | undefined;
  before(async () => {
    helper = await startHelper(stateDir, path.join(dir, "helper.sock"));
  });
  after(async () => {
    // Stopped before its directory goes: a running helper serves a removed socket again.
    await helper?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const variant of endToEnd) {
    it(`quotes end to end: ${variant.name}`, async () => {
      const reportData = createHash("sha256").update("app data").digest();
      const options = variant.options();
      const configure = options === undefined ? [] : [{ op: "configure" as const, options }];
      const results = await runProbe(
        [
          ...configure,
          { op: "mode" },
          { op: "targetInfo" },
          { op: "appReport", stateDir, reportDataHex: reportData.toString("hex") },
          { op: "quoteSize" },
          { op: "quote" },
          { op: "quoteWithReportInfo", nonceHex: "ab".repeat(16) },
          { op: "quote", reportHex: "00".repeat(432) },
        ],
        variant.env(),
      );
      const [mode, , reportHex, size, quoteHex, withInfo, forged] = results.slice(configure.length);
      assert.equal(ok(mode), variant.mode);
      const report = Buffer.from(ok(reportHex) as string, "hex");
      const quote = Buffer.from(ok(quoteHex) as string, "hex");
      assert.equal(quote.length, ok(size));
      assert.equal(quote.readUInt16LE(0), 3);
      assert.deepEqual(quote.subarray(48, 432), report.subarray(0, 384));
      assert.deepEqual(quote.subarray(48 + 320, 48 + 352), reportData);
      // Signed by the attestation key the quote carries.
      const xy = quote.subarray(500, 564);
      const key = createPublicKey({
        key: { kty: "EC", crv: "P-256", x: xy.subarray(0, 32).toString("base64url"), y: xy.subarray(32).toString("base64url") },
        format: "jwk",
      });
      assert.ok(verify("sha256", quote.subarray(0, 432), { key, dsaEncoding: "ieee-p1363" }, quote.subarray(436, 500)));
      // The QE's report for the app binds the nonce and the quote.
      const { quote: quote2Hex, qeReportInfo: infoHex } = ok(withInfo) as { quote: string; qeReportInfo: string };
      const info = Buffer.from(infoHex, "hex");
      const expected = createHash("sha256").update(Buffer.alloc(16, 0xab)).update(Buffer.from(quote2Hex, "hex")).digest();
      assert.deepEqual(info.subarray(528 + 320, 528 + 352), expected);
      // A report not made for this QE is refused as QE3 does.
      assert.equal(failed(forged).code, AesmError.INVALID_REPORT);
    });
  }
});
