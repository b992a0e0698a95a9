// Quote verification beside its floors, each measured in the same run (median of interleaved rounds, so
// load spikes on a shared machine hit both sides alike):
// - warm caches (the Intel sample, fixed time) vs the two ECDSA verifications every quote needs;
// - cold (a new QuoteVerifier per quote) vs the ~10 ECDSA verifications a cold quote cannot avoid, and
//   vs @phala/dcap-qvl on the same quote and collateral;
// - warm, same FMSPC, a PCK it has not seen (simulated platforms) vs its 3 ECDSA verifications.
// Floors use keys imported beforehand. Without the Intel sample the cold rows use a simulated quote.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createPublicKey, verify, X509Certificate, type KeyObject } from "node:crypto";
import { QuoteVerifier as PhalaVerifier } from "@phala/dcap-qvl";
import { type Bench, type BenchResult, ratioResult, timePerOp } from "./harness.js";
import { pemBlocks, quoteOf, withNewPck } from "../test/support/sim-quotes.js";
import { QuoteVerifier } from "../src/verify/index.js";
import { signedParts } from "../src/verify/der.js";
import { parseCert, pemBlockDer } from "../src/verify/certs.js";
import { pckChainBlocks } from "../src/verify/pck.js";
import { parseSgxExtension } from "../src/verify/sgx-extension.js";
import { parseQuote } from "../src/sgx/index.js";
import type { Collateral } from "../src/collateral/types.js";
import { x509 } from "../src/common/x509.js";
import { buildCollateral } from "../src/sim/collateral/build.js";
import { initPlatform } from "../src/sim/platform/init.js";
import { loadPlatformState } from "../src/sim/platform/load.js";
import type { SimPlatform } from "../src/sim/platform/types.js";
import { intelSampleAvailable, intelSampleCollateral, intelSampleQuote, needsIntelSample } from "../test/support/intel-sample.js";

const SAMPLE_NOW = new Date("2025-07-01T00:00:00Z");
const SPKI_P256_PREFIX = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d03010703420004", "hex");
const ROUNDS = 7;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p1363 = (key: KeyObject) => ({ key, dsaEncoding: "ieee-p1363" }) as const;

interface Subject {
  what: string;
  quote: Buffer;
  collateral: Collateral;
  rootPem?: string;
  rootDer?: Buffer;
  now: Date;
}

/** The 2 quote signatures; with the PCK leaf's signature, the 3 a warm verifier cannot skip on a new PCK. */
const attestationKeyOf = (quote: Buffer) => createPublicKey({ key: Buffer.concat([SPKI_P256_PREFIX, quote.subarray(500, 564)]), format: "der", type: "spki" });

function quoteChecks(quote: Buffer, pckKey: KeyObject, attKey = attestationKeyOf(quote)): (() => boolean)[] {
  return [() => verify("sha256", quote.subarray(0, 432), p1363(attKey), quote.subarray(436, 500)), () => verify("sha256", quote.subarray(564, 948), p1363(pckKey), quote.subarray(948, 1012))];
}

const certCheck = (cert: X509Certificate, issuer: KeyObject) => {
  const p = signedParts(cert.raw);
  return () => verify("sha256", p.tbs, issuer, p.signature);
};

const runAll = (checks: (() => boolean)[]) => () => {
  for (const ch of checks) if (!ch()) throw new Error("floor: a signature did not verify");
};

/** The ECDSA verifications of a cold quote, keys imported beforehand: the floor nothing can beat. */
function coldFloor(s: Subject): () => void {
  const c = s.collateral;
  const [leaf, pckCa, root] = pemBlocks(s.quote.subarray(1012).toString("latin1")).map((p) => new X509Certificate(p)) as [X509Certificate, X509Certificate, X509Certificate];
  const tcbSigner = new X509Certificate(pemBlocks(c.tcb_info_issuer_chain)[0]!);
  const checks = [certCheck(leaf, pckCa.publicKey), certCheck(pckCa, root.publicKey), certCheck(tcbSigner, root.publicKey), certCheck(root, root.publicKey)];
  for (const [crl, issuer] of [[c.root_ca_crl, root.publicKey], [c.pck_crl, pckCa.publicKey]] as const) {
    const p = signedParts(Buffer.from(crl, "hex"));
    checks.push(() => verify("sha256", p.tbs, issuer, p.signature));
  }
  checks.push(() => verify("sha256", Buffer.from(c.tcb_info), p1363(tcbSigner.publicKey), Buffer.from(c.tcb_info_signature, "hex")));
  checks.push(() => verify("sha256", Buffer.from(c.qe_identity), p1363(tcbSigner.publicKey), Buffer.from(c.qe_identity_signature, "hex")));
  checks.push(...quoteChecks(s.quote, leaf.publicKey));
  return runAll(checks);
}

async function warmCaches(): Promise<BenchResult[]> {
  if (needsIntelSample.skip) {
    process.stderr.write(`bench: quote verification (warm caches) skipped: ${needsIntelSample.skip}\n`);
    return [];
  }
  const quote = intelSampleQuote();
  const collateral = intelSampleCollateral();
  const pckKey = new X509Certificate(pemBlocks(quote.subarray(1012).toString("latin1"))[0]!).publicKey;
  const floor = runAll(quoteChecks(quote, pckKey));
  const verifier = new QuoteVerifier();
  const ours = () => verifier.verify(quote, { collateral, now: SAMPLE_NOW });
  // parseQuote (B's codec) is timed too: it is the largest part of our cost above the floor.
  const rounds: { floor: number; ours: number; parse: number }[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const floorUs = await timePerOp(floor, 400);
    const oursUs = await timePerOp(ours, 400);
    rounds.push({ floor: floorUs, ours: oursUs, parse: await timePerOp(() => parseQuote(quote), 400) });
  }
  const f = median(rounds.map((r) => r.floor));
  const ratio = median(rounds.map((r) => r.ours / r.floor));
  const parse = median(rounds.map((r) => r.parse));
  return [
    ratioResult("quote verification (warm caches) vs its 2 ECDSA verifies", ratio * f, f, "µs/quote", { max: 1.5 }, `median of ${ROUNDS} interleaved rounds; parseQuote ${parse.toFixed(1)} µs of ours; Intel sample at ${SAMPLE_NOW.toISOString()}`),
  ];
}

async function cold(sim: Subject): Promise<BenchResult[]> {
  let s = sim;
  const notes = [`median of ${ROUNDS} interleaved rounds; certificate parses are memoised process-wide, so "cold" means a new verifier, not a new process`];
  if (intelSampleAvailable) s = { what: "Intel sample quote", quote: intelSampleQuote(), collateral: intelSampleCollateral(), now: SAMPLE_NOW };
  else notes.push("Intel sample (shared/data/intel-sgx-sample) not found: a simulated quote");
  const ours = () => new QuoteVerifier({ trustedRootPem: s.rootPem }).verify(s.quote, { collateral: s.collateral, now: s.now });
  const phala = () => (s.rootDer ? PhalaVerifier.newWithRootCa(s.rootDer) : PhalaVerifier.newProd()).verify(s.quote, s.collateral as never, Math.floor(s.now.getTime() / 1000));
  const floor = coldFloor(s);
  let phalaOk = true;
  try {
    await phala();
  } catch (e) {
    phalaOk = false;
    notes.push(`@phala/dcap-qvl failed on the ${s.what}: ${(e as Error).message}`);
  }
  const rounds = { ours: [] as number[], phala: [] as number[], floor: [] as number[], ratio: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    rounds.floor.push(await timePerOp(floor, 100, 10));
    rounds.ours.push(await timePerOp(ours, 100, 10));
    rounds.ratio.push(rounds.ours.at(-1)! / rounds.floor.at(-1)!);
    if (phalaOk) rounds.phala.push(await timePerOp(phala, 100, 10));
  }
  const f = median(rounds.floor);
  const results = [ratioResult("cold verification (new verifier) vs its ~10 ECDSA verifies", median(rounds.ratio) * f, f, "µs/quote", { max: 2 }, `${s.what}; ${notes.join("; ")}`)];
  if (phalaOk) results.push(ratioResult("cold verification: ours vs @phala/dcap-qvl, same quote and collateral", median(rounds.ours), median(rounds.phala), "µs/quote", { max: 1 }));
  return results;
}

/**
 * The decoding no new PCK skips, without the verifier around it: the quote (as views), the chain split
 * and the leaf's certificate and SGX extension. Timed in a tight loop, it is that decoding at its best.
 */
const decodeNewPck = (quote: Buffer) => parseSgxExtension(parseCert(pemBlockDer(pckChainBlocks(parseQuote(quote, { views: true }).signatureData.certification)[0]!.trimEnd())));

/** Quotes per round of the new-PCK row: each PCK leaf is made for one round only (~10 ms each to make). */
const NEW_PCKS_PER_ROUND = 150;

async function warmNewPck(dir: string, p: SimPlatform, sim: Subject): Promise<BenchResult[]> {
  const state = await loadPlatformState(dir);
  const caKey = new X509Certificate(state.certs.pckCa.toString("pem")).publicKey;
  const rounds = { ours: [] as number[], floor: [] as number[], ratio: [] as number[] };
  // Leaves this process has never seen, made for one round each: the certificate parses it memoises must
  // not make a repeat look new. All are made before timing starts, so their garbage is not one round's.
  const sets = [];
  for (let r = 0; r < ROUNDS; r++) {
    const twins = await Promise.all(Array.from({ length: NEW_PCKS_PER_ROUND }, () => withNewPck(p, state.keys.pckCa, state.certs.pckCa, state.certs.pck)));
    const quotes = twins.map((t) => quoteOf(t));
    const leaves = twins.map((t) => new X509Certificate(pemBlocks(t.pckChainPem)[0]!));
    const floors = quotes.map((q, k) => runAll([certCheck(leaves[k]!, caKey), ...quoteChecks(q, leaves[k]!.publicKey)]));
    // The same, importing the leaf's key first (from a JWK, the cheapest import): what no new PCK avoids either.
    const importing = quotes.map((q, k) => {
      const jwk = leaves[k]!.publicKey.export({ format: "jwk" });
      const [leafCheck, attKey] = [certCheck(leaves[k]!, caKey), attestationKeyOf(q)];
      return () => runAll([leafCheck, ...quoteChecks(q, createPublicKey({ key: jwk, format: "jwk" }), attKey)])();
    });
    sets.push({ quotes, floors, importing });
  }
  const withImport: number[] = [];
  const importFloor: number[] = [];
  const decoding: number[] = [];
  for (const [r, { quotes, floors, importing }] of sets.entries()) {
    // A verifier that knows the FMSPC's collateral; every quote then brings a PCK it has not seen.
    const v = new QuoteVerifier({ trustedRootPem: sim.rootPem });
    await v.verify(sim.quote, { collateral: sim.collateral, now: sim.now });
    let i = 0;
    let j = 0;
    const ours = () => timePerOp(() => v.verify(quotes[i++]!, { collateral: sim.collateral, now: sim.now }), quotes.length, 0);
    const floor = () => timePerOp(() => floors[j++]!(), floors.length, 0);
    // Alternate which side goes first, so a collection left over from the last round hits both alike.
    if (r % 2) rounds.floor.push(await floor()), rounds.ours.push(await ours());
    else rounds.ours.push(await ours()), rounds.floor.push(await floor());
    rounds.ratio.push(rounds.ours.at(-1)! / rounds.floor.at(-1)!);
    let k = 0;
    const importingUs = await timePerOp(() => importing[k++]!(), importing.length, 0);
    withImport.push(rounds.ours.at(-1)! / importingUs);
    importFloor.push(importingUs / rounds.floor.at(-1)!);
    let d = 0;
    decoding.push(await timePerOp(() => decodeNewPck(quotes[d++ % quotes.length]!), quotes.length * 10, quotes.length));
  }
  const decodeUs = Math.min(...decoding);
  const f = median(rounds.floor);
  return [
    ratioResult(
      "warm verification, same FMSPC, new PCK, vs its 3 ECDSA verifies",
      median(rounds.ratio) * f,
      f,
      "µs/quote",
      { max: 1.5 },
      `simulated platform, ${NEW_PCKS_PER_ROUND} PCK leaves per round under one PCK CA, each new to the process (the same attestation key, cached); ours includes importing each leaf's P-256 key, the floor's keys are imported beforehand (the 3 verifies plus that import are ${median(importFloor).toFixed(2)}x of the 3 verifies; against them, ours is ${median(withImport).toFixed(2)}x); the decoding no new PCK skips (quote, chain split, leaf, SGX extension) costs ${decodeUs.toFixed(1)} µs in a tight loop, best of ${ROUNDS}, so floor, import and that decoding come to ${(median(importFloor) + decodeUs / f).toFixed(2)}x; median of ${ROUNDS} rounds`,
    ),
  ];
}

const bench: Bench = async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "confcom-verify-bench-"));
  try {
    const dir = path.join(tmp, "sim");
    const platform = await initPlatform(dir, { seed: "verify-bench" });
    const sim: Subject = { what: "simulated quote", quote: quoteOf(platform), collateral: await buildCollateral(dir), rootPem: platform.rootCaPem, now: new Date() };
    sim.rootDer = Buffer.from(new x509.X509Certificate(platform.rootCaPem).rawData);
    return [...(await warmCaches()), ...(await cold(sim)), ...(await warmNewPck(dir, platform, sim))];
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
};

export default bench;
