// The relying party: verifies the quote with the DCAP verifier, then the policy the sample stands for:
// an accepted TCB status, the expected enclave identity, and the message bound in the report data.
import { readFile } from "node:fs/promises";
import { fetchCollateral } from "../../src/pccs/client.js";
import { asCollateral, QuoteVerifier, VerificationError, type VerificationResult } from "../../src/verify/index.js";
import { reportDataFor } from "./enclave.js";

export class AttestationFailure extends Error {
  override name = "AttestationFailure";
  constructor(
    message: string,
    readonly result?: VerificationResult,
  ) {
    super(message);
  }
}

export interface Policy {
  expectedMrenclave: Buffer;
  expectedMrsigner?: Buffer;
  acceptStatus: string[];
}

export interface RelyingPartyOptions {
  pccsUrl?: string;
  collateralFile?: string;
  /** PEM of the trust anchor; undefined: the real Intel SGX Root CA. */
  rootCaPem?: string;
}

export async function verifyAttestation(quote: Buffer, message: string, policy: Policy, opts: RelyingPartyOptions): Promise<VerificationResult> {
  const verifier = new QuoteVerifier({
    trustedRootPem: opts.rootCaPem,
    collateralSource: opts.pccsUrl ? (fmspc, caType) => fetchCollateral(opts.pccsUrl!, fmspc, caType) : undefined,
  });
  const collateral = opts.collateralFile ? asCollateral(JSON.parse(await readFile(opts.collateralFile, "utf8"))) : undefined;
  let result: VerificationResult;
  try {
    result = await verifier.verify(quote, { collateral });
  } catch (e) {
    if (e instanceof VerificationError) throw new AttestationFailure(`quote verification failed (${e.failure}, ${e.step}): ${e.message}`, e.result as VerificationResult | undefined);
    throw e;
  }
  const e = result.enclave;
  if (!policy.acceptStatus.includes(result.status)) {
    const why = result.revocation ? `: ${result.revocation}` : result.advisoryIds.length ? ` (advisories ${result.advisoryIds.join(", ")})` : "";
    throw new AttestationFailure(`TCB status ${result.status}${why} is not accepted (accepted: ${policy.acceptStatus.join(", ")})`, result);
  }
  if (e.mrEnclave !== policy.expectedMrenclave.toString("hex")) {
    throw new AttestationFailure(`MRENCLAVE ${e.mrEnclave} is not the expected ${policy.expectedMrenclave.toString("hex")}`, result);
  }
  if (policy.expectedMrsigner && e.mrSigner !== policy.expectedMrsigner.toString("hex")) {
    throw new AttestationFailure(`MRSIGNER ${e.mrSigner} is not the expected ${policy.expectedMrsigner.toString("hex")}`, result);
  }
  if (result.reportData !== reportDataFor(message).toString("hex")) {
    throw new AttestationFailure("the report data is not SHA-256 of the relying party's message: the quote is not bound to this nonce", result);
  }
  return result;
}
