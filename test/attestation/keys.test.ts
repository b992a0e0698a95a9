// Signing keys: rotation keeps old tokens verifiable until they expire, keys persist in the state
// directory 0600 without following symlinks, ES256 by choice, and GET /policies/SgxEnclave through
// Microsoft's administration client.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AttestationAdministrationClient } from "@azure/attestation";
import { createLocalJWKSet, jwtVerify } from "jose";
import { generateSigningKey, KeySet, signingKeyFromPem } from "../../src/attestation/keys.js";
import { ensureStateDir, KEYS_FILE, loadKeys, saveKeys } from "../../src/attestation/key-store.js";
import { DEFAULT_SGX_POLICY } from "../../src/attestation/policy/index.js";
import { decodeJwt, startRig, type Rig } from "./rig.js";

const runtime = Buffer.from("keys-test runtime data");

describe("key rotation against the real service", { timeout: 120_000 }, () => {
  let rig: Rig;
  let clock = new Date();
  before(async () => {
    rig = await startRig("keys", { now: () => clock, tokenLifetimeSeconds: 600 });
  });
  after(async () => rig?.close());

  test("after a rotation, tokens of the old key still validate; new tokens carry the new kid; the old key leaves /certs when its tokens expire", async () => {
    const oldKid = rig.service.keys.active().kid;
    const oldToken = (await rig.client().attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime })).token.serialize();
    const next = await rig.service.rotateKeys();
    assert.notEqual(next.kid, oldKid);
    // A fresh client (it caches /certs per instance) validates both tokens with the keys it fetches.
    const res = await rig.client().attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime });
    assert.equal(decodeJwt(res.token.serialize()).header.kid, next.kid);
    const signers = await rig.client().getAttestationSigners();
    assert.deepEqual(signers.map((s) => s.keyId).sort(), [oldKid, next.kid].sort());
    const jwks = createLocalJWKSet(rig.service.issuer.jwks(clock) as never);
    assert.equal((await jwtVerify(oldToken, jwks)).protectedHeader.kid, oldKid);
    // Past the old key's last token's expiry, /certs stops publishing it.
    clock = new Date(clock.getTime() + 601_000);
    assert.deepEqual(rig.service.issuer.jwks(clock).keys.map((k) => k.kid), [next.kid]);
  });
});

describe("ES256 and the policy endpoint", { timeout: 120_000 }, () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig("es256", { alg: "ES256" });
  });
  after(async () => rig?.close());

  test("ES256 tokens validate with the client; /certs holds an EC key with x5c", async () => {
    const res = await rig.client().attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime });
    assert.equal(decodeJwt(res.token.serialize()).header.alg, "ES256");
    const k = rig.service.issuer.jwks().keys[0]!;
    assert.equal(k.kty, "EC");
    assert.equal(k.crv, "P-256");
    assert.equal(k.x5c.length, 1);
  });

  test("GET /policies/SgxEnclave returns the policy as MAA does (AttestationAdministrationClient.getPolicy)", async () => {
    const credential = { getToken: async () => ({ token: "unused", expiresOnTimestamp: Date.now() + 3600_000 }) };
    const admin = new AttestationAdministrationClient(rig.service.url, credential, { tlsOptions: { ca: rig.caPem } } as never);
    const res = await admin.getPolicy("SgxEnclave");
    assert.equal(res.body, DEFAULT_SGX_POLICY);
    rig.service.setPolicy("version=1.0; authorizationrules { => permit(); };");
    assert.equal((await admin.getPolicy("SgxEnclave")).body, "version=1.0; authorizationrules { => permit(); };");
    assert.throws(() => rig.service.setPolicy("version=1.0; authorizationrules { => permit() };"), /line 1, column 47/);
    assert.equal((await admin.getPolicy("SgxEnclave")).body, "version=1.0; authorizationrules { => permit(); };", "a refused policy is never half-loaded");
  });
});

describe("the key store", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "confcom-keystore-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("saves 0600 and loads the same keys back, retired ones included", async () => {
    const a = await generateSigningKey("RS256", "a");
    const b = await generateSigningKey("ES256", "b");
    const set = new KeySet([a], 3600_000);
    set.rotate(b);
    const state = path.join(dir, "state");
    await ensureStateDir(state);
    assert.equal(statSync(state).mode & 0o777, 0o700);
    await saveKeys(state, set.all());
    assert.equal(statSync(path.join(state, KEYS_FILE)).mode & 0o777, 0o600);
    const loaded = (await loadKeys(state))!;
    assert.deepEqual(loaded.map((k) => [k.kid, k.alg, !!k.retiredAt]), [[a.kid, "RS256", true], [b.kid, "ES256", false]]);
    assert.equal(new KeySet(loaded, 3600_000).active().kid, b.kid);
  });

  test("refuses a symlinked keys file and a symlinked state directory", async () => {
    const real = path.join(dir, "real");
    await ensureStateDir(real);
    writeFileSync(path.join(dir, "elsewhere.json"), "{}");
    symlinkSync(path.join(dir, "elsewhere.json"), path.join(real, KEYS_FILE));
    await assert.rejects(loadKeys(real), /symlink/);
    symlinkSync(real, path.join(dir, "linked"));
    await assert.rejects(ensureStateDir(path.join(dir, "linked")), /not a directory/);
  });

  test("a key from PEM: certificate must match; weak keys are refused", async () => {
    const k = await generateSigningKey("RS256", "pem");
    const pem = k.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const fromPem = await signingKeyFromPem(pem, undefined, "x");
    assert.equal(fromPem.alg, "RS256");
    const other = await generateSigningKey("RS256", "other");
    const otherCert = `-----BEGIN CERTIFICATE-----\n${other.certDer.toString("base64")}\n-----END CERTIFICATE-----\n`;
    await assert.rejects(signingKeyFromPem(pem, otherCert, "x"), /does not hold the signing key/);
    const { generateKeyPairSync } = await import("node:crypto");
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    await assert.rejects(signingKeyFromPem(weak, undefined, "x"), /RSA \(2048 bits or more\)/);
  });
});
