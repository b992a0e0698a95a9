// The attestation service against Microsoft's own client (@azure/attestation) over real HTTPS: a
// simulated node's quote goes in, a token comes out that the client validates with the keys it fetches
// from /certs, and every AttestationResult field is filled and right.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { AttestationClient } from "@azure/attestation";
import { createLocalJWKSet, jwtVerify } from "jose";
import { DEFAULT_SGX_POLICY, policyHash } from "../../src/attestation/policy/index.js";
import { collateralHashes } from "../../src/attestation/claims.js";
import { fetchCollateral } from "../../src/pccs/client.js";
import { simEnclaveIdentity } from "../../src/sim/enclave/identity.js";
import { decodeJwt, post, sha256, startRig, type Rig } from "./rig.js";

const runtime = Buffer.from("the enclave's public key, say");

describe("attestation service with @azure/attestation as the peer", { timeout: 120_000 }, () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig("svc");
  });
  after(async () => rig?.close());

  test("attestSgxEnclave: the token validates with the fetched signers and every result field is right", async () => {
    // Non-default product ID and SVN, so a claim left at 0 would show.
    const quote = rig.quote(runtime, { isvProdId: 0x1234, isvSvn: 7 });
    // @azure/attestation 1.0.0 has no nonce option; a pipeline policy adds one to the body it sends,
    // so the client's own AttestationResult.nonce is checked too.
    const client = new AttestationClient(rig.service.url, {
      tlsOptions: { ca: rig.caPem },
      additionalPolicies: [{ position: "perCall", policy: { name: "add-nonce", sendRequest: (req: { url: string; body?: unknown }, next: (r: unknown) => Promise<unknown>) => {
            if (req.url.includes("/attest/")) req.body = JSON.stringify({ ...JSON.parse(req.body as string), nonce: "nonce-42" });
            return next(req);
          },
        },
      }],
    } as never);
    const before = Math.floor(Date.now() / 1000);
    const res = await client.attestSgxEnclave(quote, { runTimeData: runtime });
    const r = res.body;
    const id = simEnclaveIdentity();
    assert.equal(r.mrEnclave, id.mrEnclave.toString("hex"));
    assert.equal(r.mrSigner, id.mrSigner.toString("hex"));
    assert.equal(r.productId, 0x1234);
    assert.equal(r.svn, 7);
    assert.equal(r.isDebuggable, false);
    assert.equal(r.nonce, "nonce-42");
    assert.deepEqual(Buffer.from(r.enclaveHeldData!), runtime);
    assert.equal(r.verifierType, "sgx");
    assert.equal(r.version, "1.0");
    assert.equal(r.issuer, rig.service.url);
    assert.match(r.uniqueId, /^[0-9a-f]{64}$/);
    // JSON data only: with Binary runtime data there are no runtime or init-time claims.
    assert.equal(r.runTimeClaims, undefined);
    assert.equal(r.initTimeClaims, undefined);
    assert.deepEqual(Buffer.from(r.policyHash!).toString("base64url"), policyHash(DEFAULT_SGX_POLICY));
    const collateral = await fetchCollateral(rig.pccs.url, rig.platform.fmspc.toString("hex"), "processor");
    assert.deepEqual(r.sgxCollateral, collateralHashes(quote, collateral));
    assert.equal((r.sgxCollateral as Record<string, string>).quotehash, createHash("sha256").update(quote).digest("hex"));

    const { header, body } = decodeJwt(res.token.serialize());
    assert.deepEqual(Object.keys(header).sort(), ["alg", "jku", "kid", "typ"]);
    assert.equal(header.alg, "RS256");
    assert.equal(header.typ, "JWT");
    assert.equal(header.jku, `${rig.service.url}/certs`);
    assert.equal(header.kid, rig.service.keys.active().kid);
    assert.ok((body.iat as number) >= before - 1 && body.nbf === body.iat && body.exp === (body.iat as number) + 8 * 3600);
    assert.equal(r.uniqueId, body.jti);
    assert.equal(body.nonce, "nonce-42");
    // The legacy names: the default policy's issuance rules and the service's own.
    assert.equal(body["is-debuggable"], false);
    assert.equal(body["sgx-mrenclave"], r.mrEnclave);
    assert.equal(body["sgx-mrsigner"], r.mrSigner);
    assert.equal(body["product-id"], 0x1234);
    assert.equal(body.svn, 7);
    assert.equal(body.tee, "sgx");
    assert.equal(body["maa-ehd"], runtime.toString("base64url"));
    assert.equal(body["aas-ehd"], runtime.toString("base64url"));
    assert.deepEqual(body["maa-attestationcollateral"], r.sgxCollateral);
    assert.equal(body["x-ms-sgx-report-data"], Buffer.concat([sha256(runtime), Buffer.alloc(32)]).toString("hex"));
    // The TCB verdict.
    assert.equal(body["x-confcom-sgx-tcb-status"], "UpToDate");
    assert.deepEqual(body["x-confcom-sgx-advisory-ids"], []);
    assert.equal(body["x-confcom-sgx-fmspc"], rig.platform.fmspc.toString("hex").toUpperCase());
    assert.equal(typeof body["x-confcom-sgx-tcb-date"], "string");
  });

  test("the signers the client fetches are the JWKS with x5c; a standard JOSE library verifies the token too", async () => {
    const signers = await rig.client().getAttestationSigners();
    assert.equal(signers.length, 1);
    assert.equal(signers[0]!.keyId, rig.service.keys.active().kid);
    assert.match(signers[0]!.certificates[0]!, /BEGIN CERTIFICATE/);
    const res = await rig.client().attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime });
    const jwks = (await (await fetchTls(rig, "/certs")).json) as { keys: never[] };
    const v = await jwtVerify(res.token.serialize(), createLocalJWKSet(jwks), { issuer: rig.service.url });
    assert.equal(v.payload["x-ms-sgx-mrenclave"], res.body.mrEnclave);
  });

  test("runTimeJson becomes x-ms-runtime (runTimeClaims) without x-ms-sgx-ehd", async () => {
    const json = Buffer.from(JSON.stringify({ jwk: { kty: "RSA", n: "abc", e: "AQAB" }, user: "x" }));
    const res = await rig.client().attestSgxEnclave(rig.quote(json), { runTimeJson: json });
    assert.deepEqual(res.body.runTimeClaims, { jwk: { kty: "RSA", n: "abc", e: "AQAB" }, user: "x" });
    assert.equal(res.body.enclaveHeldData, undefined);
  });

  test("initTimeJson is bound to CONFIGID and becomes x-ms-inittime (initTimeClaims); KSS claims appear", async () => {
    const init = Buffer.from(JSON.stringify({ config: "v2" }));
    const configId = Buffer.concat([sha256(init), Buffer.alloc(32, 1)]);
    const quote = rig.quote(runtime, { configId, configSvn: 3 });
    const res = await rig.client().attestSgxEnclave(quote, { runTimeData: runtime, initTimeJson: init });
    assert.deepEqual(res.body.initTimeClaims, { config: "v2" });
    const { body } = decodeJwt(res.token.serialize());
    assert.equal(body["x-ms-sgx-config-id"], configId.toString("hex"));
    assert.equal(body["x-ms-sgx-config-svn"], 3);
    assert.equal(body["x-ms-sgx-isv-family-id"], "00".repeat(16));
    await assert.rejects(rig.client().attestSgxEnclave(rig.quote(runtime), { runTimeData: runtime, initTimeJson: init }), (e: { statusCode?: number; code?: string; message: string }) => {
      assert.equal(e.statusCode, 400);
      assert.equal(e.code, "InvalidParameter");
      assert.match(e.message, /initTimeData/);
      return true;
    });
  });

  test("a nonce is echoed into the token (the 2022-08-01 request shape, raw)", async () => {
    const quote = rig.quote(runtime);
    const r = await post(rig, "/attest/SgxEnclave?api-version=2022-08-01", JSON.stringify({ quote: quote.toString("base64url"), runtimeData: { data: runtime.toString("base64url"), dataType: "Binary" }, nonce: "n-123" }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.match(String(r.headers["content-type"]), /^application\/json/);
    assert.equal(decodeJwt(r.json.token).body.nonce, "n-123");
    // Padded standard base64, as the newer REST examples send it.
    const r2 = await post(rig, "/attest/SgxEnclave?api-version=2025-06-01", JSON.stringify({ quote: quote.toString("base64"), runtimeData: { data: runtime.toString("base64"), dataType: "Binary" } }));
    assert.equal(r2.status, 200, JSON.stringify(r2.json));
  });

  test("OpenEnclave reports (16-byte header + quote) attest too", async () => {
    const report = Buffer.concat([Buffer.alloc(16, 2), rig.quote(runtime)]);
    const res = await rig.client().attestOpenEnclave(report, { runTimeData: runtime });
    assert.equal(res.body.mrEnclave, simEnclaveIdentity().mrEnclave.toString("hex"));
  });

  test("runtime data that does not match the report data gets no token", async () => {
    await assert.rejects(rig.client().attestSgxEnclave(rig.quote(runtime), { runTimeData: Buffer.from("something else") }), (e: { statusCode?: number; code?: string; message: string }) => {
      assert.equal(e.statusCode, 400);
      assert.equal(e.code, "InvalidParameter");
      assert.match(e.message, /runtimeData.*does not match/);
      return true;
    });
  });

  test("/.well-known/openid-configuration names the issuer and jwks_uri", async () => {
    const meta = (await rig.client().getOpenIdMetadata()) as Record<string, unknown>;
    assert.equal(meta.issuer, rig.service.url);
    assert.equal(meta.jwks_uri, `${rig.service.url}/certs`);
    assert.deepEqual(meta.response_types_supported, ["token", "none"]);
  });
});

async function fetchTls(rig: Rig, p: string): Promise<{ status: number; json: unknown }> {
  const https = await import("node:https");
  const u = new URL(rig.service.url + p);
  return new Promise((resolve, reject) => {
    https
      .get({ host: u.hostname, port: u.port, path: u.pathname + u.search, ca: rig.caPem, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }));
      })
      .on("error", reject);
  });
}
