// `confcom/attestation` as a library, through the package's exports: the policy engine and the token
// issuer without the daemon, the token checked by an independent JOSE verifier.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createLocalJWKSet, jwtVerify } from "jose";

test("confcom/attestation exports the token issuer and the policy engine", async () => {
  const lib = await import("confcom/attestation");
  const policy = lib.compilePolicy(lib.DEFAULT_SGX_POLICY);
  const out = policy.evaluate([{ type: "x-ms-sgx-mrenclave", value: "aa", issuer: "AttestationService" }]);
  assert.deepEqual(out.issued.map((c) => c.type), ["sgx-mrenclave"]);
  const keys = new lib.KeySet([await lib.generateSigningKey("ES256", "lib test")], 60_000);
  const issuer = new lib.TokenIssuer({ keys, issuer: "https://attest.example", lifetimeSeconds: 60 });
  const token = await issuer.issue(lib.withIssued({ "x-ms-ver": "1.0" }, out.issued));
  const v = await jwtVerify(token, createLocalJWKSet(issuer.jwks() as never), { issuer: "https://attest.example" });
  assert.equal(v.payload["sgx-mrenclave"], "aa");
  assert.equal(v.payload.exp! - v.payload.iat!, 60);
  assert.equal(v.protectedHeader.jku, "https://attest.example/certs");
});
