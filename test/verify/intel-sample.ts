// The real Intel quote and collateral (shared/data/intel-sgx-sample) and the times its README fixes.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Collateral } from "../../src/collateral/types.js";
import { sharedDir } from "../support/paths.js";

export const sampleDir = path.join(sharedDir, "data/intel-sgx-sample");
export const quotePath = path.join(sampleDir, "sgx_quote.bin");
export const collateralPath = path.join(sampleDir, "collateral.json");
export const sampleQuote = (): Buffer => readFileSync(quotePath);
export const sampleCollateral = (): Collateral => JSON.parse(readFileSync(collateralPath, "utf8")) as Collateral;

/** Inside every validity window of the sample collateral. */
export const VALID_AT = new Date("2025-07-01T00:00:00Z");
/** After the sample TCB Info's nextUpdate (2025-07-19). */
export const EXPIRED_AT = new Date("2025-08-01T00:00:00Z");
