// Every verification failure names the QVL step that failed and a failure class; the class decides the
// CLI exit code, the step tells an operator exactly which check to look at.

/** What kind of failure: each maps to one documented CLI exit code (see exit-codes.ts). */
export type FailureClass =
  /** The quote bytes are malformed or not a supported DCAP v3 ECDSA quote. */
  | "invalid-quote"
  /** A signature, certificate chain, CRL, revocation or collateral content check failed. */
  | "invalid-signature-or-collateral"
  /** A certificate, CRL, TCB Info or QE Identity is outside its validity window at `now`. */
  | "expired"
  /** Everything verified, but our policy rejects the result (a debug ISV enclave). */
  | "policy";

export class VerificationError extends Error {
  constructor(
    /** The verification step, e.g. "pck-chain.signature" or "quote.isv-signature". */
    readonly step: string,
    readonly failure: FailureClass,
    message: string,
    /** For policy failures: the full result that was rejected, so callers can still report it. */
    readonly result?: unknown,
  ) {
    super(`${step}: ${message}`);
    this.name = "VerificationError";
  }
}

export const fail = (step: string, message: string): never => {
  throw new VerificationError(step, "invalid-signature-or-collateral", message);
};

export const expired = (step: string, message: string): never => {
  throw new VerificationError(step, "expired", message);
};

/** Throws an "expired" failure for the first window that does not contain `now`. */
export function checkValidity(windows: readonly { step: string; what: string; notBefore: Date; notAfter: Date }[], now: Date): void {
  for (const w of windows) {
    if (now < w.notBefore) expired(w.step, `${w.what} is not yet valid at ${now.toISOString()} (valid from ${w.notBefore.toISOString()})`);
    if (now > w.notAfter) expired(w.step, `${w.what} expired at ${w.notAfter.toISOString()} (now ${now.toISOString()})`);
  }
}
