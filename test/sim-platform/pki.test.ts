import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { x509 } from "../../src/common/x509.js";
import { initPlatform, sgxExtensionOf } from "../../src/sim/platform/init.js";
import { loadPlatformState, type PlatformState } from "../../src/sim/platform/load.js";
import { reissueCrls, revokePck } from "../../src/sim/platform/reissue.js";
import { crlNumberOf, crlPem } from "../../src/sim/pki/issue.js";
import { decodeSgxExtension, encodeSgxExtension, SGX_EXTENSION_OID, SgxType } from "../../src/dcap/sgx-extension.js";
import { cliEntry } from "../support/paths.js";
import { asn1Shape, intelPckChain, intelCollateral, needsIntelSample, openssl, splitPem, tempDir, writeFiles } from "./fixtures.js";


const DAY = 86_400_000;
const pemOf = (c: x509.X509Certificate | x509.X509Crl) => (c instanceof x509.X509Crl ? crlPem(c) : c.toString("pem") + "\n");
/** Extension OIDs in order with their criticality: the structure Intel's certificates have. */
const extShape = (c: x509.X509Certificate | x509.X509Crl) => c.extensions.map((e) => `${e.type}${e.critical ? "!" : ""}`);
const nameAttrs = (c: x509.X509Certificate) => c.subjectName.toJSON().map((rdn) => Object.keys(rdn)[0]);

describe("simulated SGX PKI", () => {
  const tmp = tempDir("sim-pki");
  after(() => tmp.cleanup());
  let s: PlatformState;
  let real: { leaf: x509.X509Certificate; ca: x509.X509Certificate; root: x509.X509Certificate; tcb: x509.X509Certificate } | undefined;
  // Intel's real certificates, read only by the tests that need the Intel sample.
  const intelCerts = () => {
    if (!real) {
      const [leaf, ca, root] = intelPckChain() as [x509.X509Certificate, x509.X509Certificate, x509.X509Certificate];
      real = { leaf, ca, root, tcb: splitPem(intelCollateral().tcb_info_issuer_chain!)[0]! };
    }
    return real;
  };

  before(async () => {
    await initPlatform(path.join(tmp.dir, "p"), { seed: "pki" });
    s = await loadPlatformState(path.join(tmp.dir, "p"));
    writeFiles(tmp.dir, {
      "root.pem": pemOf(s.certs.root),
      "ca.pem": pemOf(s.certs.pckCa),
      "leaf.pem": pemOf(s.certs.pck),
      "tcb.pem": pemOf(s.certs.tcbSigning),
      "pckcrl.der": new Uint8Array(s.crls.pck.rawData),
      "rootcrl.der": new Uint8Array(s.crls.root.rawData),
    });
  });

  test("leaf -> PCK CA -> root verifies with @peculiar/x509", async () => {
    const { root, pckCa, pck, tcbSigning } = s.certs;
    assert.ok(await root.isSelfSigned());
    assert.ok(await pckCa.verify({ publicKey: root.publicKey, signatureOnly: true }));
    assert.ok(await pck.verify({ publicKey: pckCa.publicKey, signatureOnly: true }));
    assert.ok(await tcbSigning.verify({ publicKey: root.publicKey, signatureOnly: true }));
    assert.equal(await pck.verify({ publicKey: root.publicKey, signatureOnly: true }), false);
    const chain = await new x509.X509ChainBuilder({ certificates: [pckCa, root] }).build(pck);
    assert.deepEqual([...chain].map((c) => c.subject), [pck.subject, pckCa.subject, root.subject]);
    for (const c of [root, pckCa, pck, tcbSigning]) assert.deepEqual(c.signatureAlgorithm, { name: "ECDSA", hash: { name: "SHA-256" } });
  });

  test("openssl verifies the chain and the TCB Signing certificate against the root", () => {
    let r = openssl(["verify", "-CAfile", "root.pem", "-untrusted", "ca.pem", "leaf.pem"], tmp.dir);
    assert.equal(r.status, 0, r.out);
    r = openssl(["verify", "-CAfile", "root.pem", "tcb.pem"], tmp.dir);
    assert.equal(r.status, 0, r.out);
    r = openssl(["verify", "-CAfile", "ca.pem", "-partial_chain", "tcb.pem"], tmp.dir);
    assert.notEqual(r.status, 0, "the TCB Signing cert must not verify under the PCK CA");
  });

  test("names, extension sets, criticality and key usages match Intel's real certificates", needsIntelSample, () => {
    const pairs: [x509.X509Certificate, x509.X509Certificate][] = [
      [s.certs.root, intelCerts().root],
      [s.certs.pckCa, intelCerts().ca],
      [s.certs.pck, intelCerts().leaf],
      [s.certs.tcbSigning, intelCerts().tcb],
    ];
    for (const [mine, theirs] of pairs) {
      assert.deepEqual(extShape(mine), extShape(theirs), mine.subject);
      assert.deepEqual(nameAttrs(mine), nameAttrs(theirs));
      assert.equal(mine.subjectName.getField("O")[0], "Intel Corporation");
      const ku = (c: x509.X509Certificate) => c.getExtension(x509.KeyUsagesExtension)!.usages;
      assert.equal(ku(mine), ku(theirs), mine.subject);
      const bc = (c: x509.X509Certificate) => c.getExtension(x509.BasicConstraintsExtension)!;
      assert.deepEqual([bc(mine).ca, bc(mine).pathLength], [bc(theirs).ca, bc(theirs).pathLength], mine.subject);
      // AKI names the issuer's SKI.
      const issuer = mine === s.certs.pck ? s.certs.pckCa : s.certs.root;
      assert.equal(mine.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, issuer.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
    }
    const cn = (c: x509.X509Certificate) => c.subjectName.getField("CN")[0]!;
    assert.match(cn(s.certs.root), /SGX Root CA/);
    assert.match(cn(s.certs.pckCa), /SGX PCK Processor CA/);
    assert.match(cn(s.certs.pck), /SGX PCK Certificate/);
    assert.match(cn(s.certs.tcbSigning), /SGX TCB Signing/);
    assert.match(s.certs.pck.getExtension(x509.CRLDistributionPointsExtension)!.distributionPoints[0]!.distributionPoint!.fullName![0]!.uniformResourceIdentifier!, /\/sgx\/certification\/v4\/pckcrl\?ca=processor&encoding=der$/);
  });

  test("the leaf's DER has the shape of Intel's leaf (openssl asn1parse, values aside)", needsIntelSample, () => {
    assert.deepEqual(asn1Shape(pemOf(s.certs.pck), tmp.dir), asn1Shape(pemOf(intelCerts().leaf), tmp.dir));
  });

  test("the SGX extension decodes back to the platform's values", () => {
    const ext = s.certs.pck.getExtension(SGX_EXTENSION_OID)!;
    assert.equal(ext.critical, false);
    const v = decodeSgxExtension(ext.value);
    const p = s.platform;
    assert.ok(v.ppid.equals(p.ppid));
    assert.deepEqual(v.components, p.tcb.components);
    assert.equal(v.pceSvn, p.tcb.pceSvn);
    assert.ok(v.cpuSvn.equals(p.cpuSvn));
    assert.ok(v.cpuSvn.equals(Buffer.from(v.components)), "CPUSVN (.2.18) equals the 16 component SVNs");
    assert.ok(v.pceId.equals(p.pceId));
    assert.ok(v.fmspc.equals(p.fmspc));
    assert.equal(v.sgxType, SgxType.Standard);
    assert.equal(v.platformInstanceId, undefined);
  });

  test("the codec re-encodes Intel's real SGX extension byte for byte", needsIntelSample, () => {
    const ext = intelCerts().leaf.getExtension(SGX_EXTENSION_OID)!;
    const v = decodeSgxExtension(ext.value);
    assert.equal(v.fmspc.toString("hex"), "00a067110000");
    assert.deepEqual(v.components.slice(0, 6), [11, 11, 2, 2, 255, 1]);
    assert.ok(Buffer.from(encodeSgxExtension(v)).equals(Buffer.from(ext.value)));
  });

  test("a Platform CA platform: CN, SGX type Scalable and the 7-entry extension", async () => {
    const st = await (async () => {
      await initPlatform(path.join(tmp.dir, "platform-ca"), { seed: "pki", caType: "platform" });
      return loadPlatformState(path.join(tmp.dir, "platform-ca"));
    })();
    assert.match(st.certs.pckCa.subjectName.getField("CN")[0]!, /SGX PCK Platform CA$/);
    const v = decodeSgxExtension(st.certs.pck.getExtension(SGX_EXTENSION_OID)!.value);
    assert.equal(v.sgxType, SgxType.Scalable);
    assert.equal(v.platformInstanceId?.length, 16);
    assert.deepEqual(v.configuration, { dynamicPlatform: true, cachedKeys: true, smtEnabled: true });
    assert.deepEqual(v, decodeSgxExtension(encodeSgxExtension(sgxExtensionOf(st.record))));
  });

  test("CRLs: signed by their issuer, CRL Number and AKI like Intel's, openssl agrees", needsIntelSample, async () => {
    const ic = intelCollateral();
    const intelPckCrl = new x509.X509Crl(Buffer.from(ic.pck_crl!, "hex"));
    for (const [crl, issuer] of [
      [s.crls.root, s.certs.root],
      [s.crls.pck, s.certs.pckCa],
    ] as const) {
      assert.ok(await crl.verify({ publicKey: issuer.publicKey }), crl.issuer);
      assert.equal(crl.issuer, issuer.subject);
      assert.deepEqual(extShape(crl), extShape(intelPckCrl));
      assert.equal(crlNumberOf(crl), 1);
      assert.equal(crl.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId, issuer.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
      assert.equal(crl.entries.length, 0);
    }
    assert.equal(await s.crls.pck.verify({ publicKey: s.certs.root.publicKey }), false);
    writeFiles(tmp.dir, { "chain.pem": pemOf(s.certs.pckCa) + pemOf(s.certs.root) });
    let r = openssl(["crl", "-inform", "DER", "-in", "pckcrl.der", "-CAfile", "chain.pem", "-noout"], tmp.dir);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /verify OK/);
    r = openssl(["crl", "-inform", "DER", "-in", "rootcrl.der", "-CAfile", "root.pem", "-noout"], tmp.dir);
    assert.match(r.out, /verify OK/);
  });

  test("revoking the PCK puts its serial on the PCK CRL; openssl then rejects the leaf", async () => {
    const dir = path.join(tmp.dir, "revoked");
    await initPlatform(dir, { seed: "rev" });
    await revokePck(dir);
    const st = await loadPlatformState(dir);
    assert.deepEqual(st.crls.pck.entries.map((e) => e.serialNumber.toLowerCase()), [st.certs.pck.serialNumber.toLowerCase()]);
    assert.equal(crlNumberOf(st.crls.pck), 2);
    assert.ok(await st.crls.pck.verify({ publicKey: st.certs.pckCa.publicKey }));
    writeFiles(dir, {
      "crls.pem": pemOf(st.crls.pck) + pemOf(st.crls.root),
    });
    let r = openssl(["verify", "-crl_check_all", "-CRLfile", "crls.pem", "-CAfile", "root-ca.pem", "-untrusted", "pck-ca.pem", "pck-cert.pem"], dir);
    assert.notEqual(r.status, 0);
    assert.match(r.out, /certificate revoked/);
    // A later reissue keeps the revocation; --unrevoke takes it back.
    await reissueCrls(dir);
    assert.equal((await loadPlatformState(dir)).crls.pck.entries.length, 1);
    await reissueCrls(dir, { revokePck: false });
    const back = await loadPlatformState(dir);
    assert.equal(back.crls.pck.entries.length, 0);
    assert.equal(crlNumberOf(back.crls.pck), 4);
    writeFiles(dir, { "crls.pem": pemOf(back.crls.pck) + pemOf(back.crls.root) });
    r = openssl(["verify", "-crl_check_all", "-CRLfile", "crls.pem", "-CAfile", "root-ca.pem", "-untrusted", "pck-ca.pem", "pck-cert.pem"], dir);
    assert.equal(r.status, 0, r.out);
  });

  test("validity windows are options: expired certificates and expired CRLs", async () => {
    const now = new Date();
    const expired = { notBefore: new Date(now.getTime() - 60 * DAY), notAfter: new Date(now.getTime() - DAY) };
    const certDir = path.join(tmp.dir, "expired-cert");
    const crlDir = path.join(tmp.dir, "expired-crl");
    await Promise.all([
      initPlatform(certDir, { seed: "exp", validity: { pck: expired } }),
      initPlatform(crlDir, { seed: "exp", crls: { pck: { thisUpdate: expired.notBefore, nextUpdate: expired.notAfter } } }),
    ]);
    const [certState, crlState] = await Promise.all([loadPlatformState(certDir), loadPlatformState(crlDir)]);
    assert.equal(certState.certs.pck.notAfter.getTime(), Math.floor(expired.notAfter.getTime() / 1000) * 1000);
    assert.ok(crlState.crls.pck.nextUpdate! < now);
    assert.ok(crlState.crls.root.nextUpdate! > now);

    const verify = (dir: string, st: PlatformState) => {
      writeFiles(dir, { "crls.pem": pemOf(st.crls.pck) + pemOf(st.crls.root) });
      return openssl(["verify", "-crl_check_all", "-CRLfile", "crls.pem", "-CAfile", "root-ca.pem", "-untrusted", "pck-ca.pem", "pck-cert.pem"], dir);
    };
    let r = verify(certDir, certState);
    assert.notEqual(r.status, 0);
    assert.match(r.out, /certificate has expired/);
    r = verify(crlDir, crlState);
    assert.notEqual(r.status, 0);
    assert.match(r.out, /CRL has expired/);
    assert.doesNotMatch(r.out, /certificate has expired/);
  });

  test("CLI: sim init --expire and sim crl --revoke-pck --expired", async () => {
    const dir = path.join(tmp.dir, "cli");
    const run = (...args: string[]) => spawnSync(process.execPath, [cliEntry, "sim", ...args], { encoding: "utf8", timeout: 30_000 });
    let r = run("init", "--state", dir, "--seed", "cli", "--expire", "pck,tcbSigning", "--log-level", "silent");
    assert.equal(r.status, 0, r.stderr);
    r = run("crl", "--state", dir, "--revoke-pck", "--expired");
    assert.equal(r.status, 0, r.stderr);
    const st = await loadPlatformState(dir);
    const now = new Date();
    assert.ok(st.certs.pck.notAfter < now && st.certs.tcbSigning.notAfter < now);
    assert.ok(st.certs.pckCa.notAfter > now && st.certs.root.notAfter > now);
    const out = JSON.parse(r.stdout) as { pckCrlEntries: string[]; pckCrlNextUpdate: string };
    assert.deepEqual(out.pckCrlEntries.map((x) => x.toLowerCase()), [st.certs.pck.serialNumber.toLowerCase()]);
    assert.ok(new Date(out.pckCrlNextUpdate) < now);
    assert.ok(st.crls.root.nextUpdate! < now);
  });
});
