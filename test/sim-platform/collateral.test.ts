import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { x509 } from "../../src/common/x509.js";
import type { Collateral } from "../../src/collateral/types.js";
import { buildCollateral } from "../../src/sim/collateral/build.js";
import { QE_STATUSES, TCB_PRESETS, type QeStatus, type TcbPreset } from "../../src/sim/collateral/config.js";
import { INTEL_QE3, verifyBody } from "../../src/sim/collateral/documents.js";
import { initPlatform } from "../../src/sim/platform/init.js";
import { loadPlatformState, type PlatformState } from "../../src/sim/platform/load.js";
import { decodeSgxExtension, SGX_EXTENSION_OID } from "../../src/dcap/sgx-extension.js";
import { cliEntry } from "../support/paths.js";
import { intelCollateral, needsIntelSample, openssl, splitPem, tempDir, writeFiles } from "./fixtures.js";

interface TcbLevelJson {
  tcb: { sgxtcbcomponents: { svn: number }[]; pcesvn: number };
  tcbDate: string;
  tcbStatus: string;
  advisoryIDs?: string[];
}
interface QeLevelJson {
  tcb: { isvsvn: number };
  tcbStatus: string;
  advisoryIDs?: string[];
}

/** QVL's TCB level selection: the first level whose SVNs are all <= the PCK certificate's. */
function matchTcbLevel(levels: TcbLevelJson[], components: number[], pceSvn: number): TcbLevelJson | undefined {
  return levels.find((l) => l.tcb.sgxtcbcomponents.every((c, i) => components[i]! >= c.svn) && pceSvn >= l.tcb.pcesvn);
}
const matchQeLevel = (levels: QeLevelJson[], isvSvn: number) => levels.find((l) => isvSvn >= l.tcb.isvsvn);
/** Descending: no level is above (all SVNs >=, one >) one listed before it. */
function assertDescending(levels: TcbLevelJson[]): void {
  const key = (l: TcbLevelJson) => [...l.tcb.sgxtcbcomponents.map((c) => c.svn), l.tcb.pcesvn];
  for (let i = 1; i < levels.length; i++) {
    const [a, b] = [key(levels[i - 1]!), key(levels[i]!)];
    assert.ok(a.every((v, j) => v >= b[j]!) && a.some((v, j) => v > b[j]!), `level ${i} is not below level ${i - 1}`);
  }
}

/** DER ECDSA-Sig-Value from r||s, so that openssl can check our signatures independently. */
function rsToDer(hex: string): Buffer {
  const int = (b: Buffer) => {
    let v = b;
    while (v.length > 1 && v[0] === 0 && v[1]! < 0x80) v = v.subarray(1);
    if (v[0]! >= 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const sig = Buffer.from(hex, "hex");
  const body = Buffer.concat([int(sig.subarray(0, 32)), int(sig.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

const signerKey = (chainPem: string) => crypto.createPublicKey({ key: Buffer.from(splitPem(chainPem)[0]!.publicKey.rawData), format: "der", type: "spki" });

describe("simulated collateral", () => {
  const tmp = tempDir("sim-collateral");
  after(() => tmp.cleanup());
  let s: PlatformState;
  let c: Collateral;

  before(async () => {
    await initPlatform(path.join(tmp.dir, "p"), { seed: "collateral" });
    s = await loadPlatformState(path.join(tmp.dir, "p"));
    c = await buildCollateral(s);
  });

  test("has exactly the fields and encodings of Intel's collateral.json", needsIntelSample, () => {
    const intel = intelCollateral();
    assert.deepEqual(Object.keys(c).sort(), Object.keys(intel).sort());
    for (const k of ["root_ca_crl", "pck_crl", "tcb_info_signature", "qe_identity_signature"] as const) assert.match(c[k], /^[0-9a-f]+$/, k);
    assert.equal(c.tcb_info_signature.length, 128);
    assert.equal(c.qe_identity_signature.length, 128);
    for (const k of ["pck_crl_issuer_chain", "tcb_info_issuer_chain", "qe_identity_issuer_chain"] as const) assert.equal(splitPem(c[k]).length, 2, k);
    // The same key order as Intel's documents, at the top and in the levels.
    const mine = JSON.parse(c.tcb_info) as Record<string, unknown> & { tcbLevels: Record<string, unknown>[] };
    const theirs = JSON.parse(intel.tcb_info!) as Record<string, unknown> & { tcbLevels: Record<string, unknown>[] };
    assert.deepEqual(Object.keys(mine), Object.keys(theirs));
    assert.deepEqual(Object.keys(mine.tcbLevels[0]!.tcb as object), Object.keys(theirs.tcbLevels[0]!.tcb as object));
    const qMine = JSON.parse(c.qe_identity) as Record<string, unknown>;
    const qTheirs = JSON.parse(intel.qe_identity!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(qMine), Object.keys(qTheirs));
    for (const k of ["miscselect", "miscselectMask", "attributes", "attributesMask", "mrsigner", "isvprodid"]) assert.equal(qMine[k], qTheirs[k], k);
    assert.equal(qMine.mrsigner, INTEL_QE3.mrsigner);
    assert.equal(mine.id, "SGX");
    assert.equal(mine.version, 3);
    assert.equal(mine.fmspc, "00606A000000");
    assert.equal(mine.pceId, "0000");
    assert.equal(mine.tcbType, 0);
    assert.equal(qMine.id, "QE");
    assert.equal(qMine.version, 2);
  });

  test("chains and CRLs are the state's", () => {
    const [tcbSigner, root] = splitPem(c.tcb_info_issuer_chain);
    assert.equal(tcbSigner!.serialNumber, s.certs.tcbSigning.serialNumber);
    assert.equal(root!.serialNumber, s.certs.root.serialNumber);
    assert.equal(c.qe_identity_issuer_chain, c.tcb_info_issuer_chain);
    assert.equal(splitPem(c.pck_crl_issuer_chain)[0]!.serialNumber, s.certs.pckCa.serialNumber);
    assert.equal(c.pck_crl, Buffer.from(s.crls.pck.rawData).toString("hex"));
    assert.equal(c.root_ca_crl, Buffer.from(s.crls.root.rawData).toString("hex"));
  });

  test("signatures verify over the exact bytes and fail on any changed byte", () => {
    for (const [body, sig, chain] of [
      [c.tcb_info, c.tcb_info_signature, c.tcb_info_issuer_chain],
      [c.qe_identity, c.qe_identity_signature, c.qe_identity_issuer_chain],
    ] as const) {
      const key = signerKey(chain);
      assert.ok(verifyBody(body, sig, key));
      const bytes = Buffer.from(body, "utf8");
      for (let i = 0; i < bytes.length; i++) {
        const changed = Buffer.from(bytes);
        changed[i] = changed[i]! ^ 0x01;
        assert.equal(crypto.verify("sha256", changed, { key, dsaEncoding: "ieee-p1363" }, Buffer.from(sig, "hex")), false, `byte ${i} changed`);
      }
      assert.equal(verifyBody(body + " ", sig, key), false, "appended byte");
      assert.equal(verifyBody(JSON.stringify(JSON.parse(body), null, 1), sig, key), false, "re-serialized");
      assert.equal(verifyBody(body, sig, crypto.createPublicKey(s.keys.root)), false, "other key");
    }
  });

  test("openssl verifies the TCB Info signature with the TCB Signing certificate", () => {
    const dir = tmp.dir;
    writeFiles(dir, {
      "tcb-info.json": c.tcb_info,
      "tcb-info.sig": rsToDer(c.tcb_info_signature),
      "tcb-signer.pem": splitPem(c.tcb_info_issuer_chain)[0]!.toString("pem"),
      "tcb-root.pem": splitPem(c.tcb_info_issuer_chain)[1]!.toString("pem"),
    });
    let r = openssl(["x509", "-in", "tcb-signer.pem", "-pubkey", "-noout", "-out", "tcb-signer.pub"], dir);
    assert.equal(r.status, 0, r.out);
    r = openssl(["dgst", "-sha256", "-verify", "tcb-signer.pub", "-signature", "tcb-info.sig", "tcb-info.json"], dir);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Verified OK/);
    r = openssl(["verify", "-CAfile", "tcb-root.pem", "tcb-signer.pem"], dir);
    assert.equal(r.status, 0, r.out);
  });

  test("every TCB preset gives the platform's PCK TCB a level with that status, levels descending", async () => {
    const pck = decodeSgxExtension(s.certs.pck.getExtension(SGX_EXTENSION_OID)!.value);
    for (const preset of TCB_PRESETS) {
      const col = await buildCollateral(s, { config: { tcbStatus: preset } });
      const info = JSON.parse(col.tcb_info) as { tcbLevels: TcbLevelJson[] };
      assertDescending(info.tcbLevels);
      const level = matchTcbLevel(info.tcbLevels, pck.components, pck.pceSvn);
      if (preset === "NotSupported") {
        assert.equal(level, undefined, "no level matches");
        continue;
      }
      assert.ok(level, preset);
      assert.equal(level.tcbStatus, preset);
      assert.deepEqual(level.tcb.sgxtcbcomponents.map((x) => x.svn), pck.components, "the platform's own level matches");
      if (preset === "UpToDate") assert.equal(level.advisoryIDs, undefined, "UpToDate has no advisory IDs (as Intel's)");
      else assert.ok(level.advisoryIDs!.length > 0);
      if (preset !== "UpToDate") assert.equal(info.tcbLevels[0]!.tcbStatus, "UpToDate", "a newer UpToDate level exists");
    }
  });

  test("every QE status is the status of the QE's ISVSVN; advisory IDs and TCB eval number are settable", async () => {
    for (const qeStatus of QE_STATUSES) {
      const col = await buildCollateral(s, { config: { qeStatus, qeAdvisoryIds: qeStatus === "UpToDate" ? [] : ["INTEL-SA-00999"] } });
      const qe = JSON.parse(col.qe_identity) as { tcbLevels: QeLevelJson[] };
      const level = matchQeLevel(qe.tcbLevels, s.platform.qe.isvSvn);
      assert.equal(level?.tcbStatus, qeStatus satisfies QeStatus);
      assert.equal(level?.tcb.isvsvn, s.platform.qe.isvSvn);
      if (qeStatus !== "UpToDate") assert.deepEqual(level?.advisoryIDs, ["INTEL-SA-00999"]);
    }
    const col = await buildCollateral(s, { config: { tcbStatus: "SWHardeningNeeded" satisfies TcbPreset, advisoryIds: ["INTEL-SA-01234"], tcbEvaluationDataNumber: 19 } });
    const info = JSON.parse(col.tcb_info) as { tcbEvaluationDataNumber: number; tcbLevels: TcbLevelJson[] };
    assert.equal(info.tcbEvaluationDataNumber, 19);
    assert.deepEqual(info.tcbLevels.find((l) => l.tcbStatus === "SWHardeningNeeded")?.advisoryIDs, ["INTEL-SA-01234"]);
  });

  test("issue/next-update windows: default 30 days from an hour ago, or fixed (e.g. expired)", async () => {
    const now = new Date("2030-01-02T03:04:05.678Z");
    const d = JSON.parse((await buildCollateral(s, { now })).tcb_info) as { issueDate: string; nextUpdate: string };
    assert.equal(d.issueDate, "2030-01-02T02:04:05Z", "an hour before the build, for clock skew");
    assert.equal(d.nextUpdate, "2030-02-01T02:04:05Z");
    const fixed = await buildCollateral(s, { config: { issueDate: "2020-01-01T00:00:00Z", nextUpdate: "2020-02-01T00:00:00Z" } });
    for (const doc of [fixed.tcb_info, fixed.qe_identity]) {
      const j = JSON.parse(doc) as { issueDate: string; nextUpdate: string };
      assert.deepEqual([j.issueDate, j.nextUpdate], ["2020-01-01T00:00:00Z", "2020-02-01T00:00:00Z"]);
    }
  });

  test("sim collateral CLI writes the collateral with the state's settings and flag overrides", async () => {
    const dir = path.join(tmp.dir, "cli");
    await initPlatform(dir, { seed: "cli", collateral: { tcbStatus: "OutOfDate" } });
    const out = path.join(tmp.dir, "collateral.json");
    const r = spawnSync(process.execPath, [cliEntry, "sim", "collateral", "--state", dir, "--out", out, "--qe-status", "Revoked", "--tcb-evaluation-data-number", "18"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const col = JSON.parse(readFileSync(out, "utf8")) as Collateral;
    const st = await loadPlatformState(dir);
    const info = JSON.parse(col.tcb_info) as { tcbEvaluationDataNumber: number; tcbLevels: TcbLevelJson[] };
    assert.equal(info.tcbEvaluationDataNumber, 18);
    assert.equal(matchTcbLevel(info.tcbLevels, st.platform.tcb.components, st.platform.tcb.pceSvn)?.tcbStatus, "OutOfDate");
    const qe = JSON.parse(col.qe_identity) as { tcbLevels: QeLevelJson[] };
    assert.equal(matchQeLevel(qe.tcbLevels, st.platform.qe.isvSvn)?.tcbStatus, "Revoked");
    assert.ok(verifyBody(col.tcb_info, col.tcb_info_signature, signerKey(col.tcb_info_issuer_chain)));
    assert.equal(await new x509.X509Crl(Buffer.from(col.pck_crl, "hex")).verify({ publicKey: st.certs.pckCa.publicKey }), true);
  });
});
