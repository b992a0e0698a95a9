import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lineSplitter, MAX_NATIVE_LINE, nativeLineLevel } from "../../src/quoting/dcap/native-output.js";

describe("Intel's plain-text output as log lines", () => {
  it("splits chunks into lines, across chunk boundaries and split UTF-8, skipping blank lines", () => {
    const lines: string[] = [];
    const feed = lineSplitter((l) => lines.push(l));
    const euro = Buffer.from("€");
    feed(Buffer.from("first li"));
    feed(Buffer.concat([Buffer.from("ne\n\n  \nsecond "), euro.subarray(0, 1)]));
    feed(Buffer.concat([euro.subarray(1), Buffer.from("\r\nunterminated")]));
    assert.deepEqual(lines, ["first line", "second €"]);
  });

  it("bounds a line: the first MAX_NATIVE_LINE characters are logged once, the rest of it dropped", () => {
    const lines: string[] = [];
    const feed = lineSplitter((l) => lines.push(l));
    for (let i = 0; i < 100; i++) feed(Buffer.alloc(1000, 0x61));
    feed(Buffer.from("a\nnext\n"));
    assert.equal(lines.length, 2);
    assert.equal(lines[0], `${"a".repeat(MAX_NATIVE_LINE)}…`);
    assert.equal(lines[1], "next");
  });

  it("levels: stdout is Intel's notices (info); stderr failures are errors, the rest warnings", () => {
    assert.equal(nativeLineLevel("stdout", "Error: x"), "info");
    assert.equal(nativeLineLevel("stderr", "[load_pce] call sgx_create_enclave for PCE fail"), "error");
    assert.equal(nativeLineLevel("stderr", "Failed to open Intel SGX device."), "error");
    assert.equal(nativeLineLevel("stderr", "Warning: QE3 path not set, using default"), "warn");
  });
});
