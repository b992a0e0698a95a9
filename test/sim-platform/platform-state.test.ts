import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { spawnSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { initPlatform, DEFAULT_EPC_MIB, InitError } from "../../src/sim/platform/init.js";
import { loadPlatformState, loadSimPlatform, SimStateError } from "../../src/sim/platform/load.js";
import { STATE_FILES } from "../../src/sim/platform/state-files.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { cliEntry } from "../support/paths.js";
import { tempDir } from "./fixtures.js";

const spki = (k: crypto.KeyObject) => crypto.createPublicKey(k).export({ format: "der", type: "spki" }).toString("hex");
const pkcs8 = (k: crypto.KeyObject) => k.export({ format: "der", type: "pkcs8" }).toString("hex");

/** Everything that must be equal for two platforms from the same seed. */
function identity(p: SimPlatform) {
  return {
    platformSecret: p.platformSecret.toString("hex"),
    ppid: p.ppid.toString("hex"),
    qeId: p.qe.qeId.toString("hex"),
    attestationKey: pkcs8(p.attestationKey),
    pckKey: pkcs8(p.pckKey),
  };
}

describe("platform state", () => {
  const tmp = tempDir("sim-state");
  after(() => tmp.cleanup());
  const dir = (name: string) => path.join(tmp.dir, name);
  let a: SimPlatform, b: SimPlatform, c: SimPlatform;

  before(async () => {
    [a, b, c] = await Promise.all([initPlatform(dir("a"), { seed: "seed-1" }), initPlatform(dir("b"), { seed: "seed-1" }), initPlatform(dir("c"), { seed: "seed-2" })]);
  });

  test("the same seed gives the same identities and keys, CA keys and serials included", async () => {
    assert.deepEqual(identity(a), identity(b));
    for (const f of [STATE_FILES.rootKey, STATE_FILES.pckCaKey, STATE_FILES.tcbSigningKey, STATE_FILES.platformSecret])
      assert.equal(readFileSync(path.join(dir("a"), f), "utf8"), readFileSync(path.join(dir("b"), f), "utf8"), f);
    // Certificates carry randomized ECDSA signatures, but the same serials and keys.
    const certA = readFileSync(path.join(dir("a"), STATE_FILES.pckCert), "utf8");
    const certB = readFileSync(path.join(dir("b"), STATE_FILES.pckCert), "utf8");
    const { X509Certificate } = await import("@peculiar/x509");
    assert.equal(new X509Certificate(certA).serialNumber, new X509Certificate(certB).serialNumber);
  });

  test("different seeds differ in every secret and identity", () => {
    const ia = identity(a);
    const ic = identity(c);
    for (const k of Object.keys(ia) as (keyof typeof ia)[]) assert.notEqual(ia[k], ic[k], k);
  });

  test("without a seed every platform is different", async () => {
    const [r1, r2] = await Promise.all([initPlatform(dir("r1")), initPlatform(dir("r2"))]);
    const i1 = identity(r1);
    const i2 = identity(r2);
    for (const k of Object.keys(i1) as (keyof typeof i1)[]) assert.notEqual(i1[k], i2[k], k);
  });

  test("loaded platform: sizes, CPUSVN = the 16 component SVNs, defaults, working key pairs", async () => {
    const p = await loadSimPlatform(dir("a"));
    assert.equal(p.ppid.length, 16);
    assert.equal(p.fmspc.toString("hex").toUpperCase(), "00606A000000");
    assert.equal(p.pceId.length, 2);
    assert.equal(p.qe.qeId.length, 16);
    assert.equal(p.platformSecret.length, 32);
    assert.equal(p.tcb.components.length, 16);
    assert.deepEqual([...p.cpuSvn], p.tcb.components);
    assert.equal(p.epcMiB, DEFAULT_EPC_MIB);
    assert.equal(DEFAULT_EPC_MIB, 16384);
    const msg = Buffer.from("quote body");
    const sig = crypto.sign("sha256", msg, p.attestationKey);
    assert.ok(crypto.verify("sha256", msg, crypto.createPublicKey(p.attestationKey), sig));
    assert.equal(p.attestationKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.match(p.pckChainPem, /^(-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n){3}$/);
    assert.ok(p.pckChainPem.endsWith(p.rootCaPem));
    assert.equal(readFileSync(path.join(dir("a"), "root-ca.pem"), "utf8"), p.rootCaPem);
  });

  test("options set the identity and TCB", async () => {
    const p = await initPlatform(dir("opts"), {
      seed: "o",
      epcMiB: 8192,
      fmspc: "00906ed50000",
      pceId: "0100",
      tcbComponents: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
      pceSvn: 11,
      qeSvn: 6,
    });
    assert.equal(p.epcMiB, 8192);
    assert.equal(p.fmspc.toString("hex"), "00906ed50000");
    assert.equal(p.pceId.toString("hex"), "0100");
    assert.equal(p.cpuSvn.toString("hex"), "0102030405060708090a0b0c0d0e0f10");
    assert.equal(p.tcb.pceSvn, 11);
    assert.equal(p.qe.isvSvn, 6);
    await assert.rejects(initPlatform(dir("bad1"), { fmspc: "0011" }), (e: Error) => e instanceof InitError && /FMSPC must be 12 hex digits/.test(e.message));
    await assert.rejects(initPlatform(dir("bad2"), { tcbComponents: [1, 2] }), /16 component SVNs, got 2/);
    await assert.rejects(initPlatform(dir("bad3"), { tcbComponents: Array(16).fill(256) as number[] }), /TCB component 1 must be an integer in \[0, 255\]/);
    await assert.rejects(initPlatform(dir("opts"), { seed: "o" }), /already holds a simulated platform \(use --force/);
    await initPlatform(dir("opts"), { seed: "o", force: true });
  });

  test("state directory is 0700 and every file 0600, even under a permissive umask", async () => {
    const old = process.umask(0o000);
    try {
      await initPlatform(dir("perm"), { seed: "p" });
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(dir("perm")).mode & 0o777, 0o700);
    const files = readdirSync(dir("perm"));
    assert.deepEqual(files.sort(), Object.values(STATE_FILES).filter((f) => f !== STATE_FILES.collateral).sort());
    for (const f of files) assert.equal(statSync(path.join(dir("perm"), f)).mode & 0o777, 0o600, f);
  });

  test("precise errors for a missing, uninitialized, incomplete or corrupt directory", async () => {
    await assert.rejects(loadSimPlatform(dir("nope")), (e: Error) => e instanceof SimStateError && /does not exist \(create it with: confcom sim init/.test(e.message));
    writeFileSync(dir("file"), "x");
    await assert.rejects(loadSimPlatform(dir("file")), /is not a directory/);
    await assert.rejects(loadSimPlatform(tmp.dir), /is not an initialized platform state: platform\.json is missing/);

    const broken = dir("broken");
    await initPlatform(broken, { seed: "broken" });
    const f = (name: string) => path.join(broken, name);
    const keep = (name: string) => readFileSync(f(name));

    const pck = keep(STATE_FILES.pckKey);
    rmSync(f(STATE_FILES.pckKey));
    await assert.rejects(loadSimPlatform(broken), /incomplete platform state in .*: pck-key\.pem is missing/);
    writeFileSync(f(STATE_FILES.pckKey), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    await assert.rejects(loadSimPlatform(broken), /corrupt platform state in .*: pck-key\.pem: /);
    writeFileSync(f(STATE_FILES.pckKey), keep(STATE_FILES.attestationKey));
    await assert.rejects(loadSimPlatform(broken), /pck-cert\.pem: its public key does not match pck-key\.pem/);
    writeFileSync(f(STATE_FILES.pckKey), pck);

    const record = keep(STATE_FILES.platform);
    writeFileSync(f(STATE_FILES.platform), "{not json");
    await assert.rejects(loadSimPlatform(broken), /corrupt platform state in .*: platform\.json: .*JSON/);
    const rec = JSON.parse(record.toString()) as Record<string, unknown>;
    writeFileSync(f(STATE_FILES.platform), JSON.stringify({ ...rec, fmspc: "12" }));
    await assert.rejects(loadSimPlatform(broken), /platform\.json: fmspc must be 6 bytes of hex/);
    writeFileSync(f(STATE_FILES.platform), record);

    writeFileSync(f(STATE_FILES.pckCrl), "garbage");
    // The CRLs are the PCCS's, not the QE's: loadSimPlatform (the quote helper's workers) never reads them.
    await loadSimPlatform(broken);
    await assert.rejects(loadPlatformState(broken), /corrupt platform state in .*: pck-crl\.der: /);
    chmodSync(broken, 0o700);
  });
});

describe("sim init CLI", () => {
  const tmp = tempDir("sim-cli");
  after(() => tmp.cleanup());

  test("prints the public identity, logs no secret, and the state loads", async () => {
    const state = path.join(tmp.dir, "s");
    const r = spawnSync(process.execPath, [cliEntry, "sim", "init", "--state", state, "--seed", "cli-seed", "--epc-mib", "4096", "--log-level", "trace"], {
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(summary.epcMiB, 4096);
    assert.equal(summary.fmspc, "00606A000000");
    assert.match(r.stderr, /simulated platform initialized/);
    const p = await loadSimPlatform(state);
    const output = r.stdout + r.stderr;
    const secrets = [
      p.platformSecret.toString("hex"),
      p.platformSecret.toString("base64"),
      "cli-seed",
      "PRIVATE KEY",
      ...[p.attestationKey, p.pckKey].flatMap((k) => [k.export({ format: "jwk" }).d!, pkcs8(k)]),
    ];
    for (const s of secrets) assert.ok(!output.includes(s), `output leaks ${s.slice(0, 12)}...`);
    // Same seed through the API: the CLI derived the same keys.
    const api = await initPlatform(path.join(tmp.dir, "api"), { seed: "cli-seed" });
    assert.equal(spki(api.pckKey), spki(p.pckKey));
  });

  test("bad flags fail with exit code 2 and a clear message", () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [cliEntry, "sim", "init", "--state", path.join(tmp.dir, "x"), ...args], { encoding: "utf8", timeout: 30_000 });
    let r = run("--tcb", "1,2,3");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--tcb needs 16 comma-separated SVNs, got 3/);
    r = run("--tcb-status", "Great");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown TCB status "Great": expected one of UpToDate, /);
    r = spawnSync(process.execPath, [cliEntry, "sim", "collateral", "--state", path.join(tmp.dir, "none"), "--out", "-"], { encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /confcom: platform state directory .* does not exist/);
  });
});
