// Worker-side factory for the simulated QE3 over a `confcom sim init` state directory.
import { loadSimPlatform } from "../../sim/platform/load.js";
import { SimulatedQuotingEnclave } from "../../sim/qe3/quoting-enclave.js";

export interface SimulatedBackendOptions {
  stateDir: string;
}

export async function createBackend(options: SimulatedBackendOptions): Promise<SimulatedQuotingEnclave> {
  return new SimulatedQuotingEnclave(await loadSimPlatform(options.stateDir));
}
