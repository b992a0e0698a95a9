// PCK chain rules on the real chain: exact length and order, CN patterns, the trusted root's identity.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseQuote, pckChainFromCertData } from "../../src/sgx/index.js";
import { PCK_CHAIN_CNS, verifyChain } from "../../src/verify/chain.js";
import { loadTrustedRoot } from "../../src/verify/trusted-root.js";
import { VerificationError } from "../../src/verify/index.js";
import { needsIntelSample, sampleCollateral, sampleQuote } from "./intel-sample.js";

describe("the real PCK chain", needsIntelSample, () => {
  const [leaf, ca, root] = pckChainFromCertData(parseQuote(sampleQuote()).signatureData.certification);
  const tcbSigning = sampleCollateral().tcb_info_issuer_chain.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/)![0];
  const trusted = loadTrustedRoot();
  const check = (pems: string[]) => verifyChain("pck-chain", "PCK certificate chain", pems.join(""), PCK_CHAIN_CNS, trusted);
  const rejects = (pems: string[], message: RegExp) =>
    assert.throws(() => check(pems), (e: unknown) => e instanceof VerificationError && e.step === "pck-chain" && message.test(e.message), message.source);

  test("the real PCK chain verifies to the embedded Intel root, with every certificate's window", () => {
    const c = check([leaf, ca, root]);
    assert.deepEqual(c.certs.map((x) => x.cn), ["Intel SGX PCK Certificate", "Intel SGX PCK Processor CA", "Intel SGX Root CA"]);
    assert.deepEqual(c.validity.map((v) => v.notAfter.toISOString().slice(0, 10)), ["2030-09-20", "2033-05-21", "2049-12-31"]);
  });

  test("wrong length, order or member is refused", () => {
    rejects([leaf, root], /must have 3 certificates, has 2/);
    rejects([leaf, ca, root, root], /must have 3 certificates, has 4/);
    rejects([ca, leaf, root], /certificate 0 has CN "Intel SGX PCK Processor CA"/);
    rejects([leaf, tcbSigning, root], /certificate 1 has CN "Intel SGX TCB Signing"/);
  });

  test("data outside PEM blocks is refused", () => {
    rejects([leaf, "garbage\n", ca, root], /outside PEM certificate blocks/);
  });
});
