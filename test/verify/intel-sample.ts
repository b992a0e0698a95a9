// The real Intel quote and collateral (found through test/support/intel-sample.ts) and the times its
// README fixes.
import { intelSampleCollateral, intelSamplePath, intelSampleQuote } from "../support/intel-sample.js";

export { needsIntelSample } from "../support/intel-sample.js";
export const quotePath = (): string => intelSamplePath("sgx_quote.bin");
export const collateralPath = (): string => intelSamplePath("collateral.json");
export const sampleQuote = intelSampleQuote;
export const sampleCollateral = intelSampleCollateral;

/** Inside every validity window of the sample collateral. */
export const VALID_AT = new Date("2025-07-01T00:00:00Z");
/** After the sample TCB Info's nextUpdate (2025-07-19). */
export const EXPIRED_AT = new Date("2025-08-01T00:00:00Z");
