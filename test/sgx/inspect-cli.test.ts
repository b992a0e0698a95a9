import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { cliEntry } from "../support/paths.js";
import { needsIntelSample, samplePath, sampleQuote } from "./sample.js";

const run = promisify(execFile);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cliEntry, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("confcom quote inspect", needsIntelSample, () => {
  it("prints every field as aligned lines", async () => {
    const { code, stdout } = await cli("quote", "inspect", samplePath());
    assert.equal(code, 0);
    const lines = stdout.trimEnd().split("\n");
    const col = lines[0].indexOf(":") + 1 + (lines[0].slice(lines[0].indexOf(":") + 1).length - lines[0].slice(lines[0].indexOf(":") + 1).trimStart().length);
    for (const l of lines) assert.match(l.slice(0, col), /^[a-z_.0-9\[\]]+: *$/, l);
    const field = (k: string) => lines.find((l) => l.startsWith(`${k}:`))?.slice(col);
    assert.equal(field("isv_report.mr_enclave"), "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb");
    assert.equal(field("signature_data.qe_report.attributes.flags"), "0x0000000000000015 (INIT|MODE64|PROVISION_KEY)");
    assert.equal(field("signature_data_len"), "4164");
    assert.equal(field("signature_data.certification.size"), "3548");
    assert.match(field("signature_data.certification.pck_chain[2].subject") ?? "", /CN=Intel SGX Root CA/);
    for (const k of ["header.user_data", "isv_report.reserved4", "isv_report.report_data", "signature_data.qe_auth_data", "signature_data.qe_report.isv_svn"]) {
      assert.ok(field(k), `missing ${k}`);
    }
  });

  it("--json gives hex strings and u64 as decimal strings", async () => {
    const { code, stdout } = await cli("quote", "inspect", "--json", samplePath());
    assert.equal(code, 0);
    const j = JSON.parse(stdout);
    assert.equal(j.isvReport.mrSigner, "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6");
    assert.equal(j.isvReport.reportData, Buffer.concat([Buffer.from("Hello, world!"), Buffer.alloc(51)]).toString("hex"));
    assert.deepEqual(j.signatureData.qeReport.attributes, { flags: "21", xfrm: "231" });
    assert.equal(j.signatureData.certification.type, 5);
    assert.equal(j.signatureData.certification.data, sampleQuote().subarray(1052).toString("hex"));
    assert.equal(j.signatureData.certification.pckChain.length, 3);
    assert.equal(j.signatureDataLen, 4164);
  });

  it("reports a truncated file clearly, with exit code 1", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "confcom-inspect-"));
    const file = path.join(dir, "short.bin");
    writeFileSync(file, sampleQuote().subarray(0, 2000));
    const { code, stdout, stderr } = await cli("quote", "inspect", file);
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.equal(stderr, `confcom: ${file} (2000 bytes) is not a valid quote: quote: signature_data.certification.data truncated at offset 1052: need 3548 bytes, have 948\n`);
  });
});
