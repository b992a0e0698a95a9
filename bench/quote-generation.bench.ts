// Simulated QE3 quote generation (sequential getQuote on a valid report) against its floor, one bare
// ECDSA P-256 SHA-256 signature over 432 bytes, measured in the same run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes, sign } from "node:crypto";
import { type Bench, percentile, ratioResult } from "./harness.js";
import { DEFAULT_ECDSA_ATT_KEY_ID } from "../src/sgx/constants.js";
import { ereportBytes } from "../src/sim/enclave/ereport.js";
import { simEnclaveIdentity } from "../src/sim/enclave/identity.js";
import { initPlatform } from "../src/sim/platform/init.js";
import { SimulatedQuotingEnclave } from "../src/sim/qe3/quoting-enclave.js";

const ITERATIONS = 4000;
const WARMUP = 300;

const bench: Bench = async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "confcom-bench-qe3-"));
  try {
    const platform = await initPlatform(dir, { seed: "bench" });
    const qe = new SimulatedQuotingEnclave(platform);
    const report = ereportBytes(platform, simEnclaveIdentity(), qe.identity, randomBytes(64));
    const data = randomBytes(432);
    const opts = { key: platform.attestationKey, dsaEncoding: "ieee-p1363" } as const;
    const bare = () => sign("sha256", data, opts);
    const quote = () => qe.getQuote(report, DEFAULT_ECDSA_ATT_KEY_ID);
    // One of each, alternately, timed per call: on a shared machine bursts of contention then hit both
    // sides alike, and medians ignore the bursts.
    const samples = { bare: [] as number[], quote: [] as number[] };
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      const t0 = process.hrtime.bigint();
      await bare();
      const t1 = process.hrtime.bigint();
      await quote();
      const t2 = process.hrtime.bigint();
      if (i < WARMUP) continue;
      samples.bare.push(Number(t1 - t0) / 1000);
      samples.quote.push(Number(t2 - t1) / 1000);
    }
    const median = (xs: number[]) => percentile(xs.sort((a, b) => a - b), 50);
    const us = { bare: median(samples.bare), quote: median(samples.quote) };
    return [
      ratioResult("simulated getQuote throughput vs bare ECDSA sign", 1e6 / us.quote, 1e6 / us.bare, "ops/s", { min: 0.8 }, `median getQuote ${us.quote.toFixed(1)} µs, sign ${us.bare.toFixed(1)} µs (interleaved, ${ITERATIONS} each)`),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export default bench;
