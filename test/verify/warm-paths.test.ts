// A warm verifier (collateral, CA links and keys cached) still checks everything that belongs to a new
// PCK: its leaf signature, revocation, validity, and that the quote is signed by that leaf's key.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { ParsedQuote, QuoteVerifier, VerificationError } from "../../src/verify/index.js";
import type { Collateral } from "../../src/collateral/types.js";
import { issueCrl } from "../../src/sim/pki/issue.js";
import { randomEcPrivateKey } from "../../src/sim/pki/keys.js";
import { loadPlatformState, type PlatformState } from "../../src/sim/platform/load.js";
import { quoteOf, withNewPck, type NewPckOptions } from "../support/sim-quotes.js";
import { SIM_NOW, simRig, type SimRig } from "./sim.js";

const DAY = 86_400_000;
const REVOKED_SERIAL = "1badc0de";

let rig: SimRig;
let state: PlatformState;
let collateral: Collateral;
let verifier: QuoteVerifier;

const twin = (opts: NewPckOptions = {}, caKey = state.keys.pckCa) => withNewPck(rig.platform, caKey, state.certs.pckCa, state.certs.pck, opts);
const verify = (quote: Buffer) => verifier.verify(quote, { collateral, now: SIM_NOW });
const failure = (step: string, kind: VerificationError["failure"], message: RegExp) => (e: unknown) => {
  assert.ok(e instanceof VerificationError, String(e));
  assert.deepEqual([e.step, e.failure], [step, kind], e.message);
  assert.match(e.message, message);
  return true;
};

before(async () => {
  rig = await simRig("warm");
  state = await loadPlatformState(rig.dir);
  // The platform's own CRL, plus one serial that the tests below give to a new PCK.
  const crl = await issueCrl(state.certs.pckCa, state.keys.pckCa, {
    thisUpdate: new Date(SIM_NOW.getTime() - DAY),
    nextUpdate: new Date(SIM_NOW.getTime() + 30 * DAY),
    crlNumber: 7,
    revokedSerials: [REVOKED_SERIAL],
  });
  collateral = { ...(await rig.collateral()), pck_crl: Buffer.from(crl.rawData).toString("hex") };
  verifier = new QuoteVerifier({ trustedRootPem: rig.rootPem });
  assert.equal((await verify(rig.quote())).status, "UpToDate");
});

test("a new PCK under the known CA verifies on the warm verifier, and again from its cache", async () => {
  const q = quoteOf(await twin());
  assert.equal((await verify(q)).status, "UpToDate");
  assert.equal((await verify(q)).status, "UpToDate");
});

test("a new PCK whose serial the cached PCK CRL lists is Revoked", async () => {
  const r = await verify(quoteOf(await twin({ serialNumber: REVOKED_SERIAL })));
  assert.equal(r.status, "Revoked");
  assert.match(r.revocation ?? "", new RegExp(`serial ${REVOKED_SERIAL}\\) is revoked by PCK CRL`));
});

test("a quote signed by another PCK key than its leaf's is rejected, for a new leaf and a cached one", async () => {
  const [a, b, c] = await Promise.all([twin(), twin(), twin()]);
  assert.equal((await verify(quoteOf(a))).status, "UpToDate");
  const step = failure("quote.qe-report-signature", "invalid-signature-or-collateral", /does not verify under the PCK certificate's key/);
  await assert.rejects(verify(quoteOf({ ...a, pckKey: b.pckKey })), step); // leaf a is cached
  await assert.rejects(verify(quoteOf({ ...c, pckKey: b.pckKey })), step); // leaf c is new
  await assert.rejects(verify(quoteOf({ ...c, pckKey: randomEcPrivateKey() })), step);
});

test("a leaf named as issued by the known CA but signed by another key is rejected at the chain", async () => {
  const forged = await twin({}, crypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
  await assert.rejects(verify(quoteOf(forged)), failure("pck-chain", "invalid-signature-or-collateral", /signature of "[^"]*PCK Certificate" does not verify/));
});

test("a new PCK outside its validity window is expired, though its CA and the collateral are cached", async () => {
  const expired = await twin({ notBefore: new Date(SIM_NOW.getTime() - 20 * DAY), notAfter: new Date(SIM_NOW.getTime() - DAY) });
  await assert.rejects(verify(quoteOf(expired)), failure("pck-chain", "expired", /PCK Certificate" expired at/));
  const future = await twin({ notBefore: new Date(SIM_NOW.getTime() + DAY), notAfter: new Date(SIM_NOW.getTime() + 20 * DAY) });
  await assert.rejects(verify(quoteOf(future)), failure("pck-chain", "expired", /not yet valid/));
});

test("a quote decoded beforehand (ParsedQuote) verifies as its bytes do, and owns a copy of them", async () => {
  const bytes = quoteOf(await twin());
  const parsed = ParsedQuote.of(bytes);
  const expected = await verify(bytes);
  bytes[436] ^= 1; // the caller's buffer changes after decoding: the ISV signature byte
  assert.deepEqual(await verifier.verify(parsed, { collateral, now: SIM_NOW }), expected);
  await assert.rejects(verify(bytes), failure("quote.isv-signature", "invalid-signature-or-collateral", /ISV signature/));
  assert.throws(() => ParsedQuote.of(bytes.subarray(0, 100)), /truncated/);
});
