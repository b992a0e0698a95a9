export { DcapQuotingBackend, UNKNOWN_PUB_KEY_ID, type DcapBackendOptions } from "./backend.js";
export { DEFAULT_DCAP_QL_LIBRARY, DcapLibraryNotFoundError, EnclaveLoadPolicy } from "./library.js";
export { Quote3Error, quote3ErrorName, quote3ToAesm } from "./quote3-error.js";
