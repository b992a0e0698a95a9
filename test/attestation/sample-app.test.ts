// The whole chain: the sample attestation app on a simulated node quotes its enclave, sends quote and
// nonce to the attestation service, verifies the token with the service's published keys and prints
// the claims it relies on; a service that attests another enclave than expected makes it fail.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { SAMPLE_MRENCLAVE, SAMPLE_MRSIGNER } from "../../examples/attestation/enclave.js";
import { runApp } from "../demo/app-support.js";
import { startRig, type Rig } from "./rig.js";

describe("sample app --attestation-url", { timeout: 120_000 }, () => {
  let rig: Rig;
  let caFile: string;
  before(async () => {
    rig = await startRig("sample-app");
    caFile = path.join(rig.dir, "service-ca.pem");
    writeFileSync(caFile, rig.caPem);
  });
  after(async () => rig?.close());
  const env = () => ({ CONFCOM_SIM_STATE: path.join(rig.dir, "state"), ATTESTATION_URL: rig.service.url, ATTESTATION_CA: caFile });

  test("a simulated node's quote becomes a validated token; the app prints the claims it relies on", async () => {
    const r = await runApp(["--message", "nonce-42"], env());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /token from https:\/\/127\.0\.0\.1:\d+ verified with its \/certs/);
    assert.match(r.stdout, new RegExp(`claim x-ms-sgx-mrenclave: "${SAMPLE_MRENCLAVE.toString("hex")}"`));
    assert.match(r.stdout, new RegExp(`claim x-ms-sgx-mrsigner: "${SAMPLE_MRSIGNER.toString("hex")}"`));
    assert.match(r.stdout, new RegExp(`claim x-ms-sgx-ehd: "${Buffer.from("nonce-42").toString("base64url")}"`));
    assert.match(r.stdout, /attestation succeeded: MRENCLAVE [0-9a-f]{64}, MRSIGNER [0-9a-f]{64}, TCB status UpToDate/);
  });

  test("an enclave other than the expected one: exit 1 with the reason", async () => {
    const r = await runApp(["--expected-mrenclave", "00".repeat(32)], env());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /attestation failed: MRENCLAVE [0-9a-f]{64} is not the expected 0{64}/);
  });

  test("a service whose TLS the app does not trust: exit 1, no token accepted", async () => {
    const r = await runApp([], { ...env(), ATTESTATION_CA: "" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the attestation service/);
  });
});
