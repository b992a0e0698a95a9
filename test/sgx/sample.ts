// The real Intel quote of shared/data/intel-sgx-sample, loaded once.
import { readFileSync } from "node:fs";
import path from "node:path";
import { sharedDir } from "../support/paths.js";

export const SAMPLE_QUOTE_PATH = path.join(sharedDir, "data/intel-sgx-sample/sgx_quote.bin");
export const sampleQuote = (): Buffer => readFileSync(SAMPLE_QUOTE_PATH);
