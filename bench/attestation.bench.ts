// The attestation service's costs, each beside its floor in the same run:
// - cold verification (a new QuoteVerifier per quote) vs @phala/dcap-qvl on the same quote and
//   collateral, and vs the ~10 ECDSA verifications a cold quote cannot avoid;
// - warm verification of a new PCK on a known FMSPC vs its 3 ECDSA verifications;
// - tokens/s with 64 concurrent HTTPS clients vs a bare HTTPS echo of the same requests, p99 printed.
// Uses the Intel sample quote when it is found, a simulated one otherwise (said in the notes).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import crypto, { createPublicKey, verify, X509Certificate, type KeyObject } from "node:crypto";
import { QuoteVerifier as PhalaVerifier } from "@phala/dcap-qvl";
import { type Bench, type BenchResult, percentile, ratioResult, timePerOp } from "./harness.js";
import { QuoteVerifier } from "../src/verify/index.js";
import { signedParts } from "../src/verify/der.js";
import type { Collateral } from "../src/collateral/types.js";
import { x509 } from "../src/common/x509.js";
import { silentLogger } from "../src/common/log.js";
import { issueWebhookTls } from "../src/addon/tls.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../src/sgx/index.js";
import { buildCollateral } from "../src/sim/collateral/build.js";
import { ereportBytes } from "../src/sim/enclave/ereport.js";
import { simEnclaveIdentity } from "../src/sim/enclave/identity.js";
import { initPlatform } from "../src/sim/platform/init.js";
import { loadPlatformState } from "../src/sim/platform/load.js";
import { toWebKeyPair, randomEcPrivateKey } from "../src/sim/pki/keys.js";
import type { SimPlatform } from "../src/sim/platform/types.js";
import { SimulatedQuotingEnclave } from "../src/sim/qe3/quoting-enclave.js";
import { startPccs } from "../src/pccs/server.js";
import { startChild, stopChild } from "./support/child.js";
import { intelSampleAvailable, intelSampleCollateral, intelSampleQuote } from "../test/support/intel-sample.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const cliEntry = path.resolve(here, "../src/cli/main.js");
const echoEntry = path.join(here, "support/https-echo.js");
const SAMPLE_NOW = new Date("2025-07-01T00:00:00Z");
const SPKI_P256_PREFIX = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d03010703420004", "hex");
const ROUNDS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Subject {
  what: string;
  quote: Buffer;
  collateral: Collateral;
  rootPem?: string;
  rootDer?: Buffer;
  now: Date;
}

const pemBlocks = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
const p1363 = (key: KeyObject) => ({ key, dsaEncoding: "ieee-p1363" }) as const;

/** The ECDSA verifications of a cold quote, keys imported beforehand: the floor nothing can beat. */
function coldFloor(s: Subject): () => void {
  const c = s.collateral;
  const certs = [...pemBlocks(s.quote.subarray(1012).toString("latin1")).map((p) => new X509Certificate(p))];
  const [leaf, pckCa, root] = certs as [X509Certificate, X509Certificate, X509Certificate];
  const tcbSigner = new X509Certificate(pemBlocks(c.tcb_info_issuer_chain)[0]!);
  const checks: (() => boolean)[] = [];
  const certCheck = (cert: X509Certificate, issuer: KeyObject) => {
    const p = signedParts(cert.raw);
    return () => verify("sha256", p.tbs, issuer, p.signature);
  };
  checks.push(certCheck(leaf, pckCa.publicKey), certCheck(pckCa, root.publicKey), certCheck(tcbSigner, root.publicKey));
  for (const crl of [c.root_ca_crl, c.pck_crl]) {
    const p = signedParts(Buffer.from(crl, "hex"));
    const issuer = crl === c.root_ca_crl ? root.publicKey : pckCa.publicKey;
    checks.push(() => verify("sha256", p.tbs, issuer, p.signature));
  }
  checks.push(() => verify("sha256", Buffer.from(c.tcb_info), p1363(tcbSigner.publicKey), Buffer.from(c.tcb_info_signature, "hex")));
  checks.push(() => verify("sha256", Buffer.from(c.qe_identity), p1363(tcbSigner.publicKey), Buffer.from(c.qe_identity_signature, "hex")));
  checks.push(...warmChecks(s.quote, leaf.publicKey));
  checks.push(certCheck(root, root.publicKey));
  return () => {
    for (const ch of checks) if (!ch()) throw new Error("floor: a signature did not verify");
  };
}

/** The 2 quote signatures; with the PCK leaf's signature, the 3 a warm verifier cannot skip on a new PCK. */
function warmChecks(quote: Buffer, pckKey: KeyObject): (() => boolean)[] {
  const attKey = createPublicKey({ key: Buffer.concat([SPKI_P256_PREFIX, quote.subarray(500, 564)]), format: "der", type: "spki" });
  return [() => verify("sha256", quote.subarray(0, 432), p1363(attKey), quote.subarray(436, 500)), () => verify("sha256", quote.subarray(564, 948), p1363(pckKey), quote.subarray(948, 1012))];
}

/** A platform twin with a fresh PCK key and leaf under the same PCK CA (same FMSPC and SGX extension). */
async function withNewPck(p: SimPlatform, caKey: KeyObject, caCert: x509.X509Certificate, leaf: x509.X509Certificate): Promise<SimPlatform> {
  const key = randomEcPrivateKey();
  const pair = await toWebKeyPair(key);
  const ca = await toWebKeyPair(caKey);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: crypto.randomBytes(16).toString("hex").replace(/^[89a-f]/, "1"),
    subject: leaf.subjectName,
    issuer: caCert.subjectName,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    publicKey: pair.publicKey,
    signingKey: ca.privateKey,
    extensions: [...leaf.extensions.filter((e) => e.type !== "2.5.29.14"), await x509.SubjectKeyIdentifierExtension.create(pair.publicKey)],
  });
  const [, ...rest] = pemBlocks(p.pckChainPem);
  return { ...p, pckKey: key, pckChainPem: [cert.toString("pem"), ...rest].map((x) => `${x}\n`).join("") };
}

const quoteOf = (p: SimPlatform, reportData = Buffer.alloc(64, 1)) => {
  const qe = new SimulatedQuotingEnclave(p);
  return qe.getQuoteSync(ereportBytes(p, simEnclaveIdentity(), qe.identity, reportData), DEFAULT_ECDSA_ATT_KEY_ID).quote;
};

async function loadRequests(url: string, body: string, clients: number, total: number, ca: string): Promise<{ perSecond: number; p99Ms: number; p50Ms: number }> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: clients, ca });
  const u = new URL(url);
  const one = () =>
    new Promise<number>((resolve, reject) => {
      const t = process.hrtime.bigint();
      const req = https.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - t) / 1e6) : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on("error", reject);
      req.end(body);
    });
  const lat: number[] = [];
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < total) lat.push(await one());
    }),
  );
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { perSecond: total / secs, p99Ms: percentile(lat, 99), p50Ms: percentile(lat, 50) };
}

const bench: Bench = async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), "confcom-attest-bench-"));
  const notes: string[] = [];
  try {
    const dir = path.join(tmp, "sim");
    const platform = await initPlatform(dir, { seed: "attestation-bench" });
    const simSubject: Subject = { what: "simulated quote", quote: quoteOf(platform), collateral: await buildCollateral(dir), rootPem: platform.rootCaPem, now: new Date() };
    simSubject.rootDer = Buffer.from(new x509.X509Certificate(platform.rootCaPem).rawData);

    let cold: Subject = simSubject;
    if (intelSampleAvailable) {
      cold = { what: "Intel sample quote", quote: intelSampleQuote(), collateral: intelSampleCollateral(), now: SAMPLE_NOW };
    } else {
      notes.push("Intel sample (shared/data/intel-sgx-sample) not found: cold verification uses a simulated quote");
    }

    // Cold: a new verifier per quote, ours vs Phala's, beside the floor.
    const ourCold = () => new QuoteVerifier({ trustedRootPem: cold.rootPem }).verify(cold.quote, { collateral: cold.collateral, now: cold.now });
    const phalaCold = () => (cold.rootDer ? PhalaVerifier.newWithRootCa(cold.rootDer) : PhalaVerifier.newProd()).verify(cold.quote, cold.collateral as never, Math.floor(cold.now.getTime() / 1000));
    const floor = coldFloor(cold);
    const rounds = { ours: [] as number[], phala: [] as number[], floor: [] as number[] };
    let phalaOk = true;
    try {
      await phalaCold();
    } catch (e) {
      phalaOk = false;
      notes.push(`@phala/dcap-qvl failed on the ${cold.what}: ${(e as Error).message}`);
    }
    for (let r = 0; r < ROUNDS; r++) {
      rounds.floor.push(await timePerOp(floor, 100, 10));
      rounds.ours.push(await timePerOp(ourCold, 100, 10));
      if (phalaOk) rounds.phala.push(await timePerOp(phalaCold, 100, 10));
    }
    const f = median(rounds.floor);
    const results: BenchResult[] = [
      ratioResult("cold quote verification (new verifier) vs its ~10 ECDSA verifies", median(rounds.ours), f, "µs/quote", { max: 2 }, `${cold.what}; median of ${ROUNDS} interleaved rounds; certificate parses are memoised process-wide, so "cold" means a new verifier, not a new process`),
    ];
    if (phalaOk) results.push(ratioResult("cold quote verification: ours vs @phala/dcap-qvl, same quote and collateral", median(rounds.ours), median(rounds.phala), "µs/quote", { max: 1 }));

    // Warm: one verifier that knows the FMSPC's collateral; every quote brings a PCK it has not seen.
    const state = await loadPlatformState(dir);
    const twins = await Promise.all(Array.from({ length: 400 }, () => withNewPck(platform, state.keys.pckCa, state.certs.pckCa, state.certs.pck)));
    const warmQuotes = twins.map((t) => quoteOf(t));
    const leafKeys = twins.map((t) => new X509Certificate(pemBlocks(t.pckChainPem)[0]!).publicKey);
    const caKey = new X509Certificate(state.certs.pckCa.toString("pem")).publicKey;
    const verifier = new QuoteVerifier({ trustedRootPem: platform.rootCaPem });
    await verifier.verify(simSubject.quote, { collateral: simSubject.collateral });
    const warm = { ours: [] as number[], floor: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      const v = new QuoteVerifier({ trustedRootPem: platform.rootCaPem });
      await v.verify(simSubject.quote, { collateral: simSubject.collateral });
      let i = 0;
      warm.ours.push(await timePerOp(() => v.verify(warmQuotes[i++ % warmQuotes.length]!, { collateral: simSubject.collateral }), warmQuotes.length, 0));
      const floors = warmQuotes.map((q, k) => {
        const leafParts = signedParts(new X509Certificate(pemBlocks(twins[k]!.pckChainPem)[0]!).raw);
        const checks = [() => verify("sha256", leafParts.tbs, caKey, leafParts.signature), ...warmChecks(q, leafKeys[k]!)];
        return () => checks.every((c) => c());
      });
      let j = 0;
      warm.floor.push(await timePerOp(() => floors[j++ % floors.length]!(), floors.length, 0));
    }
    results.push(ratioResult("warm verification, same FMSPC, new PCK, vs its 3 ECDSA verifies", median(warm.ours), median(warm.floor), "µs/quote", { max: 1.5 }, "simulated platform, a fresh PCK leaf per quote under one PCK CA"));

    // End to end: tokens/s through `confcom attestation-service` as deployed (its own process, collateral
    // from a PCCS) vs a bare HTTPS echo process, 64 keep-alive clients each from this process.
    const tls = await issueWebhookTls({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    const files = { cert: path.join(tmp, "tls.crt"), key: path.join(tmp, "tls.key"), root: path.join(tmp, "root.pem"), state: path.join(tmp, "service") };
    writeFileSync(files.cert, tls.certPem);
    writeFileSync(files.key, tls.keyPem, { mode: 0o600 });
    writeFileSync(files.root, platform.rootCaPem);
    const runtime = Buffer.from("bench runtime data");
    const quote = quoteOf(platform, Buffer.concat([crypto.createHash("sha256").update(runtime).digest(), Buffer.alloc(32)]));
    const body = JSON.stringify({ quote: quote.toString("base64url"), runtimeData: { data: runtime.toString("base64url"), dataType: "Binary" } });
    const pccs = await startPccs({ stateDir: dir, host: "127.0.0.1", port: 0, log: silentLogger() });
    const serviceArgs = [cliEntry, "attestation-service", "--pccs", pccs.url, "--root", files.root, "--tls-cert", files.cert, "--tls-key", files.key, "--host", "127.0.0.1", "--port", "0"];
    const ready = /^(https:\/\/\S+)$/m;
    const services = {
      RS256: await startChild([...serviceArgs, "--state-dir", `${files.state}-rs`, "--alg", "RS256", "--rate-limit", "0", "--metrics-addr", "127.0.0.1:0", "--log-level", "warn"], ready),
      ES256: await startChild([...serviceArgs, "--state-dir", `${files.state}-es`, "--alg", "ES256", "--rate-limit", "0", "--metrics-addr", "127.0.0.1:0", "--log-level", "warn"], ready),
    };
    const echoes = {
      bare: await startChild([echoEntry, files.cert, files.key], ready),
      RS256: await startChild([echoEntry, files.cert, files.key, "RS256"], ready),
    };
    try {
      const url = (c: { match: RegExpExecArray }) => `${c.match[1]}/attest/SgxEnclave?api-version=2022-08-01`;
      const targets = { rs: url(services.RS256), es: url(services.ES256), echo: url(echoes.bare), cryptoEcho: url(echoes.RS256) };
      type Load = Awaited<ReturnType<typeof loadRequests>>;
      const runs: Record<keyof typeof targets, Load[]> = { rs: [], es: [], echo: [], cryptoEcho: [] };
      for (const u of Object.values(targets)) await loadRequests(u, body, 64, 300, tls.caPem);
      for (let r = 0; r < 3; r++) for (const [k, u] of Object.entries(targets)) runs[k as keyof typeof targets].push(await loadRequests(u, body, 64, 2000, tls.caPem));
      const mid = (k: keyof typeof targets) => runs[k].sort((a, b) => a.perSecond - b.perSecond)[1]!;
      const p = (l: Load) => `p50 ${l.p50Ms.toFixed(1)} ms, p99 ${l.p99Ms.toFixed(1)} ms`;
      const how = "service and echoes each in its own process, clients in the bench's; median of 3 interleaved rounds";
      results.push(
        ratioResult("tokens/s, 64 HTTPS clients, vs a bare HTTPS echo of the same requests", mid("rs").perSecond, mid("echo").perSecond, "req/s", { min: 0.5 }, `RS256 tokens (the default); ${p(mid("rs"))} (echo ${p(mid("echo"))}); ${how}`),
        ratioResult("tokens/s (RS256) vs an echo doing only its unavoidable crypto (2 P-256 verifies, 1 RSA-2048 signature)", mid("rs").perSecond, mid("cryptoEcho").perSecond, "req/s", { min: 0.8 }, `the RS256 ceiling: that echo reaches ${(mid("cryptoEcho").perSecond / mid("echo").perSecond).toFixed(2)}x of the bare one (${p(mid("cryptoEcho"))})`),
        ratioResult("tokens/s, ES256 tokens (--alg ES256), vs a bare HTTPS echo", mid("es").perSecond, mid("echo").perSecond, "req/s", { min: 0.5 }, p(mid("es"))),
      );
    } finally {
      await Promise.all([...Object.values(services), ...Object.values(echoes)].map((c) => stopChild(c.child)).concat(pccs.close()));
    }
    if (notes.length) results[0]!.notes = `${results[0]!.notes}; ${notes.join("; ")}`;
    return results;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
};

export default bench;
