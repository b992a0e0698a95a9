import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { decodeReport, encodeReport, REPORT_SIZE } from "../../src/sgx/index.js";
import { ereport, ereportBytes, verifyReportMac } from "../../src/sim/enclave/ereport.js";
import { ATTR_DEBUG, simEnclaveIdentity, targetInfoOf } from "../../src/sim/enclave/identity.js";
import { loadSimPlatform } from "../../src/sim/platform/load.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { testPlatform } from "./platform.js";

describe("simulated EREPORT", () => {
  let platform: SimPlatform;
  const app = simEnclaveIdentity({ isvProdId: 7, isvSvn: 3 });
  const target = simEnclaveIdentity({ mrEnclave: Buffer.alloc(32, 0x51), mrSigner: Buffer.alloc(32, 0x52) });
  before(async () => {
    platform = await testPlatform();
  });

  it("carries the platform CPUSVN, the reporter's identity and zero-padded report data", () => {
    const r = ereport(platform, app, targetInfoOf(target), Buffer.from("hi"));
    assert.deepEqual(r.body.cpuSvn, platform.cpuSvn);
    assert.deepEqual([r.body.mrEnclave, r.body.mrSigner, r.body.isvProdId, r.body.isvSvn], [app.mrEnclave, app.mrSigner, 7, 3]);
    assert.deepEqual(r.body.attributes, app.attributes);
    assert.deepEqual(r.body.reportData, Buffer.concat([Buffer.from("hi"), Buffer.alloc(62)]));
    assert.equal(r.keyId.length, 32);
    assert.notDeepEqual(r.keyId, Buffer.alloc(32));
    assert.deepEqual(ereport(platform, app, targetInfoOf(target), Buffer.alloc(0)).keyId, r.keyId, "key_id is per boot");
    assert.throws(() => ereport(platform, app, targetInfoOf(target), Buffer.alloc(65)), RangeError);
    assert.equal(simEnclaveIdentity({ debug: true }).attributes.flags & ATTR_DEBUG, ATTR_DEBUG);
  });

  it("verifies for its target, as a buffer and as a structure", () => {
    const bytes = ereportBytes(platform, app, targetInfoOf(target), Buffer.from("x"));
    assert.equal(bytes.length, REPORT_SIZE);
    assert.ok(verifyReportMac(platform, bytes, target));
    assert.ok(verifyReportMac(platform, decodeReport(bytes), targetInfoOf(target)));
  });

  it("fails for any other target identity", () => {
    const bytes = ereportBytes(platform, app, targetInfoOf(target), Buffer.from("x"));
    const others = [
      { ...target, mrEnclave: Buffer.alloc(32, 0x50) },
      { ...target, attributes: { ...target.attributes, flags: target.attributes.flags | ATTR_DEBUG } },
      { ...target, attributes: { ...target.attributes, xfrm: 3n } },
      { ...target, miscSelect: 1 },
      { ...target, configSvn: 1 },
      { ...target, configId: Buffer.alloc(64, 1) },
      app,
    ];
    for (const o of others) assert.equal(verifyReportMac(platform, bytes, o), false);
  });

  it("fails for every single flipped byte of the report", () => {
    const bytes = ereportBytes(platform, app, targetInfoOf(target), Buffer.from("x"));
    for (let i = 0; i < REPORT_SIZE; i++) {
      const t = Buffer.from(bytes);
      t[i] ^= 0x01;
      assert.equal(verifyReportMac(platform, t, target), false, `byte ${i}`);
    }
  });

  it("is bound to the platform secret; another boot of the same platform still verifies", async () => {
    const bytes = ereportBytes(platform, app, targetInfoOf(target), Buffer.from("x"));
    const other = await testPlatform("another platform");
    assert.equal(verifyReportMac(other, bytes, target), false);
    const rebooted = await loadSimPlatform(platform.dir);
    assert.ok(verifyReportMac(rebooted, bytes, target));
    const fromReboot = ereport(rebooted, app, targetInfoOf(target), Buffer.from("x"));
    assert.notDeepEqual(fromReboot.keyId, decodeReport(bytes).keyId);
    assert.ok(verifyReportMac(platform, encodeReport(fromReboot), target));
  });
});
