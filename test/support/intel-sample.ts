// Intel's real sample quote and collateral live outside the repository. Tests and benches find them
// through this one helper: $CONFCOM_INTEL_SAMPLE names the directory, else ../shared/data/intel-sgx-sample
// beside the clone. Without either, the tests that need it are skipped with one line saying so; with
// CI=true a missing sample fails them instead, so CI never loses those checks silently.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Collateral } from "../../src/collateral/types.js";
import { repoRoot } from "./paths.js";

export const INTEL_SAMPLE_ENV = "CONFCOM_INTEL_SAMPLE";
const FILES = ["sgx_quote.bin", "collateral.json"] as const;

function locate(): { dir?: string; problem?: string } {
  const fromEnv = process.env[INTEL_SAMPLE_ENV];
  const dir = fromEnv ? path.resolve(fromEnv) : path.resolve(repoRoot, "../shared/data/intel-sgx-sample");
  const missing = FILES.filter((f) => !existsSync(path.join(dir, f)));
  if (missing.length === 0) return { dir };
  const where = fromEnv ? `${INTEL_SAMPLE_ENV}=${fromEnv}` : `${dir} (no ${INTEL_SAMPLE_ENV} set)`;
  return {
    problem: `Intel's SGX sample quote is missing: no ${missing.join(" or ")} in ${where}; set ${INTEL_SAMPLE_ENV} to a directory holding sgx_quote.bin and collateral.json (README, Development: "The Intel sample")`,
  };
}

const found = locate();
const inCi = process.env.CI === "true";

/**
 * `{ skip }` for a test or suite that needs the sample: a one-line reason when it is missing, unless
 * CI=true, where the test runs and fails on the first read with the same line.
 */
export const needsIntelSample: { skip: string | false } = { skip: found.dir || inCi ? false : found.problem! };

export const intelSampleAvailable = found.dir !== undefined;

/** Path of a file of the sample; throws the one-line explanation when the sample is missing. */
export function intelSamplePath(file: (typeof FILES)[number]): string {
  if (!found.dir) throw new Error(found.problem);
  return path.join(found.dir, file);
}

export const intelSampleQuote = (): Buffer => readFileSync(intelSamplePath("sgx_quote.bin"));
export const intelSampleCollateral = (): Collateral => JSON.parse(readFileSync(intelSamplePath("collateral.json"), "utf8")) as Collateral;
