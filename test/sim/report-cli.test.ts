import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { before, describe, it } from "node:test";
import { DEFAULT_ECDSA_ATT_KEY_ID, decodeReport, encodeTargetInfo, parseQuote } from "../../src/sgx/index.js";
import { verifyReportMac } from "../../src/sim/enclave/ereport.js";
import { simEnclaveIdentity, targetInfoOf } from "../../src/sim/enclave/identity.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { SimulatedQuotingEnclave } from "../../src/sim/qe3/quoting-enclave.js";
import { cliEntry } from "../support/paths.js";
import { testPlatform } from "./platform.js";

const run = promisify(execFile);

async function cli(...args: string[]) {
  try {
    const r = await run(process.execPath, [cliEntry, ...args]);
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("confcom sim report", () => {
  let platform: SimPlatform;
  before(async () => {
    platform = await testPlatform("report cli");
  });

  it("writes a 432-byte report the simulated QE3 accepts and quotes", async () => {
    const out = path.join(platform.dir, "report.bin");
    const r = await cli("sim", "report", "--state", platform.dir, "--target-info", "qe", "--report-data", "48656c6c6f", "--isvsvn", "4", "--out", out);
    assert.equal(r.code, 0, r.stderr);
    const bytes = readFileSync(out);
    assert.equal(bytes.length, 432);
    const report = decodeReport(bytes);
    assert.deepEqual(report.body.reportData, Buffer.concat([Buffer.from("Hello"), Buffer.alloc(59)]));
    assert.equal(report.body.isvSvn, 4);
    assert.deepEqual(report.body.mrEnclave, simEnclaveIdentity().mrEnclave);
    const qe = new SimulatedQuotingEnclave(platform);
    assert.deepEqual(parseQuote((await qe.getQuote(bytes, DEFAULT_ECDSA_ATT_KEY_ID)).quote).isvReport, report.body);
  });

  it("targets the enclave named by a target info file, with the given identity", async () => {
    const target = simEnclaveIdentity({ mrEnclave: Buffer.alloc(32, 7) });
    const ti = path.join(platform.dir, "ti.bin");
    writeFileSync(ti, encodeTargetInfo(targetInfoOf(target)));
    const out = path.join(platform.dir, "r2.bin");
    const mr = "ab".repeat(32);
    const r = await cli("sim", "report", "--state", platform.dir, "--target-info", ti, "--report-data", "", "--mrenclave", mr, "--mrsigner", "cd".repeat(32), "--isvprodid", "9", "--debug", "--out", out);
    assert.equal(r.code, 0, r.stderr);
    const report = decodeReport(readFileSync(out));
    assert.equal(report.body.mrEnclave.toString("hex"), mr);
    assert.equal(report.body.isvProdId, 9);
    assert.equal(report.body.attributes.flags & 2n, 2n);
    assert.ok(verifyReportMac(platform, report, target));
  });

  it("rejects bad input with clear messages", async () => {
    const out = path.join(platform.dir, "r3.bin");
    const tooLong = await cli("sim", "report", "--state", platform.dir, "--target-info", "qe", "--report-data", "00".repeat(65), "--out", out);
    assert.equal(tooLong.code, 2);
    assert.match(tooLong.stderr, /--report-data must be at most 64 bytes, got 65/);
    const short = path.join(platform.dir, "short-ti.bin");
    writeFileSync(short, Buffer.alloc(100));
    const badTi = await cli("sim", "report", "--state", platform.dir, "--target-info", short, "--report-data", "00", "--out", out);
    assert.equal(badTi.code, 2);
    assert.match(badTi.stderr, /target info: whole structure truncated at offset 0: need 512 bytes, have 100/);
  });
});
