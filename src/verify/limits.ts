// How large a collateral document may be. Real ones are kilobytes (Intel's largest TCB Info is ~20 KB,
// its PCK CRLs smaller still); the bound keeps a hostile PCCS or collateral file from making a verifier
// (or a service that embeds QuoteVerifier) buffer gigabytes.
export const DEFAULT_MAX_COLLATERAL_BYTES = 4 << 20;
