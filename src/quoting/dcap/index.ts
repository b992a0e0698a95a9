export { DcapQuotingBackend, UNKNOWN_PUB_KEY_ID, type DcapBackendOptions, type DcapDescription, type DcapEnclavePaths, type Readiness } from "./backend.js";
export { checkSgxDevices, type DeviceCheck } from "./devices.js";
export { DEFAULT_DCAP_QL_LIBRARY, DcapLibraryNotFoundError, EnclaveLoadPolicy, QlPathType } from "./library.js";
export { Quote3Error, quote3ErrorName, quote3Hint, quote3ToAesm } from "./quote3-error.js";
