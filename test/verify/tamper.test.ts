// Every single-byte change inside a signed region of the real Intel quote, and changes spread over the
// signed collateral, are rejected, each at the step that guards that region.
import { test } from "node:test";
import assert from "node:assert/strict";
import { QuoteVerifier, VerificationError } from "../../src/verify/index.js";
import { verifySignedJson } from "../../src/verify/signed-json.js";
import { X509Certificate } from "node:crypto";
import { parsePemChain } from "../../src/verify/certs.js";
import type { Collateral } from "../../src/collateral/types.js";
import { needsIntelSample, sampleCollateral, sampleQuote, VALID_AT } from "./intel-sample.js";

/** [start, end) of each region of the sample quote (QE auth data is 32 bytes), and the step guarding it. */
const QUOTE_REGIONS: { name: string; start: number; end: number; step: (offset: number) => string | undefined }[] = [
  {
    name: "header",
    start: 0,
    end: 48,
    step: (o) => (o < 4 ? "quote.parse" : o < 8 || (o >= 12 && o < 28) ? "quote.header" : "quote.isv-signature"),
  },
  { name: "ISV report body", start: 48, end: 432, step: () => "quote.isv-signature" },
  { name: "signature data length", start: 432, end: 436, step: () => "quote.parse" },
  { name: "ISV signature", start: 436, end: 500, step: () => "quote.isv-signature" },
  { name: "attestation key", start: 500, end: 564, step: () => "quote.qe-report-data" },
  { name: "QE report body", start: 564, end: 948, step: () => "quote.qe-report-signature" },
  { name: "QE report signature", start: 948, end: 1012, step: () => "quote.qe-report-signature" },
  // Length fields: any rejection will do (they shift what follows).
  { name: "QE auth data size", start: 1012, end: 1014, step: () => undefined },
  { name: "QE auth data", start: 1014, end: 1046, step: () => "quote.qe-report-data" },
  { name: "certification type and size", start: 1046, end: 1052, step: () => undefined },
];

async function rejectedAt(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VerificationError) return e.step;
    throw e;
  }
  return "ACCEPTED";
}

test("every single-byte change in the quote's signed regions is rejected at its step", needsIntelSample, async () => {
  const verifier = new QuoteVerifier();
  const collateral = sampleCollateral();
  const good = sampleQuote();
  assert.equal((await verifier.verify(good, { collateral, now: VALID_AT })).status, "ConfigurationAndSWHardeningNeeded");
  let tried = 0;
  for (const region of QUOTE_REGIONS) {
    for (let o = region.start; o < region.end; o++) {
      for (const flip of [0x01, 0x80]) {
        const q = Buffer.from(good);
        q[o] ^= flip;
        const step = await rejectedAt(verifier.verify(q, { collateral, now: VALID_AT }));
        const expected = region.step(o);
        assert.notEqual(step, "ACCEPTED", `${region.name} byte ${o} ^ 0x${flip.toString(16)} was accepted`);
        if (expected) assert.equal(step, expected, `${region.name} byte ${o} ^ 0x${flip.toString(16)}`);
        tried++;
      }
    }
  }
  assert.equal(tried, 2 * 1052);
});

test("changes spread over the PCK certificate chain in the quote are rejected", needsIntelSample, async () => {
  const verifier = new QuoteVerifier();
  const collateral = sampleCollateral();
  const good = sampleQuote();
  let tried = 0;
  for (let o = 1052; o < good.length - 1; o += 29) {
    const c = String.fromCharCode(good[o]);
    // PEM framing whitespace is not signed, and a base64 digit next to "=" padding may only change unused bits.
    if (/\s/.test(c) || good[o + 1] === 0x3d || good[o] === 0x3d) continue;
    const q = Buffer.from(good);
    q[o] = c === "A" ? 0x42 : 0x41;
    const step = await rejectedAt(verifier.verify(q, { collateral, now: VALID_AT }));
    assert.match(step, /^(pck-chain|quote\.certification-data|pck-cert\.sgx-extension)$/, `cert data byte ${o}`);
    tried++;
  }
  assert.ok(tried > 100);
});

/** Changes one character to a different one of the same class (hex stays hex, JSON text stays text). */
function changeChar(s: string, i: number): string {
  const c = s[i];
  const r = /[0-9a-fA-F]/.test(c) ? (c === "0" ? "1" : "0") : c === "x" ? "y" : "x";
  return s.slice(0, i) + r + s.slice(i + 1);
}

const tcbSigningKey = (c: Collateral) => new X509Certificate(parsePemChain("test", "chain", c.tcb_info_issuer_chain)[0].der).publicKey;

test("every single-character change of the TCB Info and QE Identity bodies breaks their signatures", needsIntelSample, () => {
  const c = sampleCollateral();
  const key = tcbSigningKey(c);
  for (const [what, body, sig] of [
    ["TCB Info", c.tcb_info, c.tcb_info_signature],
    ["QE Identity", c.qe_identity, c.qe_identity_signature],
  ] as const) {
    verifySignedJson("s", what, body, sig, key);
    for (let i = 0; i < body.length; i++) {
      assert.throws(() => verifySignedJson("s", what, changeChar(body, i), sig, key), { step: "s" }, `${what} char ${i}`);
    }
  }
});

async function collateralRejection(mutate: (c: Collateral) => void): Promise<string> {
  const c = sampleCollateral();
  mutate(c);
  // A fresh verifier: nothing cached from the good collateral.
  return rejectedAt(new QuoteVerifier().verify(sampleQuote(), { collateral: c, now: VALID_AT }));
}

test("changes spread over the signed collateral strings are rejected end to end", needsIntelSample, async () => {
  for (const [field, step] of [
    ["tcb_info", "tcb-info.signature"],
    ["qe_identity", "qe-identity.signature"],
  ] as const) {
    const len = sampleCollateral()[field].length;
    for (let i = 0; i < len; i += 53) {
      assert.equal(await collateralRejection((c) => (c[field] = changeChar(c[field], i))), step, `${field} char ${i}`);
    }
  }
});

test("every character of the TCB Info and QE Identity signatures matters", needsIntelSample, async () => {
  for (const [field, step] of [
    ["tcb_info_signature", "tcb-info.signature"],
    ["qe_identity_signature", "qe-identity.signature"],
  ] as const) {
    for (let i = 0; i < 128; i++) {
      assert.equal(await collateralRejection((c) => (c[field] = changeChar(c[field], i))), step, `${field} char ${i}`);
    }
  }
});

test("changes spread over both CRLs are rejected", needsIntelSample, async () => {
  for (const [field, step] of [
    ["root_ca_crl", "collateral.root-ca-crl"],
    ["pck_crl", "collateral.pck-crl"],
  ] as const) {
    const len = sampleCollateral()[field].length;
    for (let i = 0; i < len; i += 11) {
      assert.equal(await collateralRejection((c) => (c[field] = changeChar(c[field], i))), step, `${field} hex char ${i}`);
    }
  }
});
