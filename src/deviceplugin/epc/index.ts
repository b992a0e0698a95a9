// EPC size discovery: the module's public surface.
export { DEFAULT_SIM_EPC_MIB, discoverEpc, discoverEpcOrThrow, probeEpc, type EpcDiscoveryOptions, type EpcProbe } from "./discover.js";
export { EpcValueError, MAX_EPC_MIB, NoSgxError, checkEpcMiB, type EpcDiscovery, type EpcSource } from "./types.js";
export { cpuidFileOffset, readEpcSections, type CpuidReader, type CpuidRegs, type EpcSection } from "./cpuid.js";
