// A seeded simulated cluster: every node its own CPU, one simulated "Intel" (root, PCK CA, TCB signing,
// collateral) for all of them; restarts reproduce the same platform.
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { buildCollateral } from "../../src/sim/collateral/build.js";
import { ereportBytes } from "../../src/sim/enclave/ereport.js";
import { simEnclaveIdentity } from "../../src/sim/enclave/identity.js";
import { initPlatform } from "../../src/sim/platform/init.js";
import { STATE_FILES } from "../../src/sim/platform/state-files.js";
import { SimulatedQuotingEnclave } from "../../src/sim/qe3/quoting-enclave.js";
import type { SimPlatform } from "../../src/sim/platform/types.js";
import { DEFAULT_ECDSA_ATT_KEY_ID, decodeTargetInfo } from "../../src/sgx/index.js";
import { QuoteVerifier } from "../../src/verify/index.js";
import { tempDir } from "./fixtures.js";

const SEED = "cluster-seed-1";

async function quoteOn(p: SimPlatform, data: Buffer): Promise<Buffer> {
  const qe = new SimulatedQuotingEnclave(p);
  const { targetInfo } = await qe.initQuote(DEFAULT_ECDSA_ATT_KEY_ID);
  const report = ereportBytes(p, simEnclaveIdentity({ isvProdId: 1 }), decodeTargetInfo(targetInfo), data);
  return (await qe.getQuote(report, DEFAULT_ECDSA_ATT_KEY_ID)).quote;
}

describe("seeded cluster nodes", () => {
  const tmp = tempDir("sim-cluster");
  after(() => tmp.cleanup());
  const dir = (n: string) => path.join(tmp.dir, n);
  const read = (n: string, f: keyof typeof STATE_FILES) => readFileSync(path.join(dir(n), STATE_FILES[f]));

  test("two nodes differ in PPID, keys and secret; their quotes verify under one root and one collateral set", async () => {
    const [a, b] = await Promise.all([
      initPlatform(dir("node-a"), { seed: SEED, nodeName: "node-a", readable: true }),
      initPlatform(dir("node-b"), { seed: SEED, nodeName: "node-b", readable: true }),
    ]);
    assert.notEqual(a.ppid.toString("hex"), b.ppid.toString("hex"));
    assert.notEqual(a.platformSecret.toString("hex"), b.platformSecret.toString("hex"));
    assert.notEqual(a.qe.qeId.toString("hex"), b.qe.qeId.toString("hex"));
    assert.notDeepEqual(read("node-a", "pckCert"), read("node-b", "pckCert"));
    // The cluster's simulated Intel: byte-identical certificates on every node.
    for (const f of ["rootCert", "pckCaCert", "tcbSigningCert", "rootKey", "pckCaKey", "tcbSigningKey"] as const) {
      assert.deepEqual(read("node-a", f), read("node-b", f), f);
    }
    // One collateral set (built on a third, PCCS-like platform of the same seed), one root.
    const pccs = await initPlatform(dir("pccs"), { seed: SEED, nodeName: "pccs" });
    const collateral = await buildCollateral(pccs.dir);
    const verifier = new QuoteVerifier({ trustedRootPem: readFileSync(path.join(pccs.dir, STATE_FILES.rootCert), "utf8") });
    const results = [];
    for (const p of [a, b]) {
      const r = await verifier.verify(await quoteOn(p, Buffer.alloc(64, 7)), { collateral });
      assert.equal(r.status, "UpToDate");
      results.push(r);
    }
    // An enclave of one node cannot be quoted by the other's QE (its report key differs).
    const qeB = new SimulatedQuotingEnclave(b);
    const { targetInfo } = await qeB.initQuote(DEFAULT_ECDSA_ATT_KEY_ID);
    const foreign = ereportBytes(a, simEnclaveIdentity({ isvProdId: 1 }), decodeTargetInfo(targetInfo), Buffer.alloc(64));
    await assert.rejects(qeB.getQuote(foreign, DEFAULT_ECDSA_ATT_KEY_ID));
  });

  test("a restart (init --force of the same node) reproduces the same platform, certificates included", async () => {
    const first = await initPlatform(dir("again"), { seed: SEED, nodeName: "node-a" });
    const certs = (["rootCert", "pckCaCert", "pckCert", "tcbSigningCert", "pckKey", "attestationKey", "platformSecret"] as const).map((f) => read("again", f));
    const second = await initPlatform(dir("again"), { seed: SEED, nodeName: "node-a", force: true });
    assert.deepEqual(second.ppid, first.ppid);
    assert.deepEqual((["rootCert", "pckCaCert", "pckCert", "tcbSigningCert", "pckKey", "attestationKey", "platformSecret"] as const).map((f) => read("again", f)), certs);
    // And it is node-a of the first test: same PPID as the readable copy.
    assert.deepEqual(read("again", "pckCert"), read("node-a", "pckCert"));
  });

  test("a node name needs a seed", async () => {
    await assert.rejects(initPlatform(dir("noseed"), { nodeName: "x" }), /a node name needs a seed/);
  });
});
