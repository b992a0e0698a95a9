// The real Intel quote of the Intel sample (found through test/support/intel-sample.ts), loaded lazily.
import { intelSamplePath, intelSampleQuote } from "../support/intel-sample.js";

export { needsIntelSample } from "../support/intel-sample.js";
export const samplePath = (): string => intelSamplePath("sgx_quote.bin");
export const sampleQuote = intelSampleQuote;
