// Public API of DCAP quote verification (Intel QVL's algorithm).
export { QuoteVerifier, verifyQuote, type CollateralSource, type QuoteVerifierOptions, type VerifyOptions } from "./verifier.js";
export { ParsedQuote } from "./parsed-quote.js";
export type { VerificationResult, EnclaveIdentity } from "./result.js";
export { VerificationError, type FailureClass } from "./errors.js";
export { TCB_STATUSES, type TcbStatus, type QeTcbStatus, type VerificationStatus } from "./tcb-status.js";
export { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from "./trusted-root.js";
export { asCollateral } from "./collateral.js";
export { DEFAULT_MAX_COLLATERAL_BYTES } from "./limits.js";
export { parseTcbInfo, type TcbInfo, type TcbLevel } from "./tcb-info.js";
export { parseQeIdentity, type QeIdentity, type QeTcbLevel } from "./qe-identity.js";
export { parseSgxExtension, SGX_EXTENSION_OID, SgxType, type SgxExtension } from "./sgx-extension.js";
export { EXIT_CODES, exitCodeForStatus, exitCodeForFailure } from "./exit-codes.js";
