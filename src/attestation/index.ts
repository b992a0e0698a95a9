// Public API of the attestation service (MAA-compatible): the token issuer and its keys, the policy
// engine, the attester and the HTTPS service, for apps that embed them.
export { TokenIssuer, jwkOf, type Jwk, type TokenIssuerOptions } from "./token-issuer.js";
export { KeySet, generateSigningKey, signingKeyFromPem, KeyError, SIGNING_ALGS, type SigningAlg, type SigningKey } from "./keys.js";
export { loadKeys, saveKeys, ensureStateDir } from "./key-store.js";
export * from "./policy/index.js";
export { Attester, DEFAULT_ACCEPTED_STATUSES, type Attestation, type AttesterOptions } from "./attester.js";
export { sgxClaims, collateralHashes, withIssued, VERDICT_CLAIMS } from "./claims.js";
export { CollateralCache, type CollateralCacheOptions } from "./collateral-cache.js";
export { AttestationError, DENIAL_REASONS, type DenialReason } from "./errors.js";
export { startAttestationService, DEFAULTS as SERVICE_DEFAULTS, type AttestationService, type AttestationServiceOptions } from "./service.js";
